"""The REST service run by an unprivileged user: its default socket is under
the user's runtime dir, and docker-py drives containers through it."""

from __future__ import annotations

import os
import shutil
import subprocess

from ..conftest import wait_for


def test_service_as_user_with_docker_py(rl):
    import docker

    sock = os.path.join(rl.runtime_dir, "pypod", "pypod.sock")
    service = rl.popen([rl.launcher, "system", "service", "-t", "0"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: os.path.exists(sock), timeout=20), service.stderr.read1().decode() if service.poll() else ""
        st = os.stat(sock)
        assert st.st_uid == rl.uid and st.st_mode & 0o077 == 0  # the user's, and no one else's
        client = docker.DockerClient(base_url=f"unix://{sock}", timeout=60)
        assert client.ping()
        assert client.info()["SecurityOptions"] and any("rootless" in o for o in client.info()["SecurityOptions"])
        out = client.containers.run("busybox", ["sh", "-c", "echo via-api; id -u"], network_mode="none", remove=True)
        assert out == b"via-api\n0\n"
        ctr = client.containers.run("busybox", ["sleep", "1000"], detach=True, name="rl-api", network_mode="none")
        code, output = ctr.exec_run(["sh", "-c", "echo exec-$((6*7))"])
        assert (code, output) == (0, b"exec-42\n")
        assert [c.name for c in client.containers.list()] == ["rl-api"]
        client.close()
        # the path podman's own clients look for: `podman --remote` as the user finds the service there
        podman_sock = os.path.join(rl.runtime_dir, "podman", "podman.sock")
        second = rl.popen([rl.launcher, "system", "service", "-t", "0", f"unix://{podman_sock}"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert wait_for(lambda: os.path.exists(podman_sock), timeout=20)
            if shutil.which("podman"):
                p = rl.run(["podman", "--remote", "ps", "--format", "{{.Names}}"])
                assert (p.returncode, p.stdout) == (0, b"rl-api\n"), p.stderr
        finally:
            second.terminate()
            second.wait(timeout=30)
        ctr.remove(force=True)
    finally:
        service.terminate()
        service.wait(timeout=30)
        service.stderr.close()
