"""Rootless networking, run for real by an unprivileged user: slirp4netns
(the default) and pasta with -p reachable from the host's loopback, a
user bridge network whose containers resolve each other by name
(aardvark-dns in the user's rootless network namespace), and the clear
error when /dev/net/tun is not the user's to open."""

from __future__ import annotations

import os
import socket
import urllib.request

from ..conftest import wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int) -> bytes | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=2) as r:
            return r.read()
    except OSError:
        return None


HTTPD = "mkdir -p /www && echo served-by-$(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"


def test_slirp4netns_and_pasta_publish_to_loopback(rl):
    for mode in ("", "pasta"):
        port = _free_port()
        args = ["run", "-d", "--name", f"rl-web{mode}", "--hostname", f"web{mode or 'slirp'}", "-p", f"127.0.0.1:{port}:8080"]
        if mode:
            args += ["--network", mode]
        rl.pypod(*args, "busybox", "sh", "-c", HTTPD)
        body = wait_for(lambda: _get(port), timeout=15)
        assert body == f"served-by-web{mode or 'slirp'}\n".encode()
        shown = rl.out("inspect", "--format", "{{.HostConfig.NetworkMode}}", f"rl-web{mode}")
        assert shown == (mode or "slirp4netns")
        assert rl.out("port", f"rl-web{mode}") == f"8080/tcp -> 127.0.0.1:{port}"
        rl.pypod("rm", "-f", "-t", "0", f"rl-web{mode}")
        assert wait_for(lambda: _get(port) is None, timeout=10)
    # a container on slirp4netns reaches out through it (to slirp's own DNS forwarder address)
    out = rl.out("run", "--rm", "busybox", "sh", "-c", "ip -4 addr show tap0 | grep -o 'inet [0-9./]*'; cat /etc/resolv.conf")
    assert "inet 10.0.2.100/24" in out and "nameserver 10.0.2.3" in out


def test_user_bridge_network_with_dns(rl):
    rl.pypod("network", "create", "rlnet")
    try:
        port = _free_port()
        rl.pypod("run", "-d", "--name", "rl-a", "--network", "rlnet", "-p", f"127.0.0.1:{port}:8080", "busybox",
                 "sh", "-c", HTTPD)
        out = rl.out("run", "--rm", "--network", "rlnet", "busybox", "sh", "-c",
                     "for i in 1 2 3 4 5; do wget -q -O - http://rl-a:8080/index.html && break; sleep 0.5; done")
        assert out == "served-by-" + rl.out("inspect", "--format", "{{.Config.Hostname}}", "rl-a")
        assert wait_for(lambda: _get(port), timeout=15)
        rl.pypod("rm", "-f", "-t", "0", "rl-a")
    finally:
        rl.pypod("network", "rm", "-f", "rlnet", check=False)


def test_unusable_tun_device_is_named(rl):
    fake = os.path.join(rl.base, "tun")
    with open(fake, "w"):
        pass
    os.chmod(fake, 0o600)
    probe = ("import sys; from pypod.network import usernet; usernet.TUN = sys.argv[1]\n"
             "try:\n    usernet.check_tun()\nexcept Exception as e:\n    print(e)\n")
    p = rl.run([rl.python, "-c", probe, str(fake)], env={"PYTHONPATH": rl.lib})
    assert p.stdout.decode().strip() == (f"{fake} (mode 0600) cannot be opened: permission denied: rootless networking "
                                         f"needs the tun device; as root: chmod 0666 {fake} (its standard mode), "
                                         "or use --network none")
