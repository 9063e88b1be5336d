"""The netavark binary: `setup` and `teardown` of a namespace, the network
options as JSON on stdin, netavark's JSON answer (or {"error": ...}) on
stdout.  Given --aardvark-binary and --config (RUNROOT/networks), netavark
starts aardvark-dns for networks with DNS and adds and removes the
container's names in its files, as it does for podman.

Every call holds the network lock (RUNROOT/networks/netavark.lock), as
podman holds its own: the last teardown on a network deletes the bridge
and its firewall rules, which must not race a setup that found them.
A call can run in the background (Call) while pypod does other work.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from ..errors import PypodError


class NetworkError(PypodError):
    """netavark failed; the message is its own, as podman passes it on."""


def find_helper(name: str, config) -> str:
    net = config.network
    if name == "netavark" and net.network_cmd_path:
        return net.network_cmd_path
    for d in net.helper_binaries_dir:
        path = os.path.join(d, name)
        if os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    if not found:
        raise NetworkError(f"could not find {name!r} in one of {list(net.helper_binaries_dir)} or $PATH: "
                           "install netavark and aardvark-dns (scripts/setup.sh does)")
    return found


class Call:
    """One netavark command in flight, holding the network lock until done."""

    def __init__(self, netavark: "Netavark", command: str, netns: str, options: dict):
        self.command = command
        self._lock = netavark.lock
        self._lock.acquire()
        try:
            self._proc = subprocess.Popen(
                [*netavark.prefix(), netavark.binary, "--config", netavark.config_dir,
                 f"--rootless={'true' if netavark.rootless else 'false'}",
                 f"--aardvark-binary={netavark.aardvark}", command, netns],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=netavark.env,
            )
            # Small enough for the pipe: written now, so netavark works
            # while the caller goes on.
            stdin, self._proc.stdin = self._proc.stdin, None
            try:
                stdin.write(json.dumps(options).encode())
            except BrokenPipeError:
                pass  # netavark died at once: result() reports why
            finally:
                stdin.close()
        except BaseException:
            self._lock.release()
            raise

    def result(self) -> dict:
        """Wait; netavark's answer, or NetworkError with its message."""
        try:
            out, err = self._proc.communicate()
        finally:
            self._lock.release()
        answer: dict = {}
        if out.strip():
            try:
                answer = json.loads(out)
            except ValueError:
                answer = {"error": out.decode(errors="replace").strip()}
        if self._proc.returncode != 0 or "error" in answer:
            msg = answer.get("error") or _stderr_text(err) or f"exit status {self._proc.returncode}"
            raise NetworkError(f"netavark: {msg}")
        return answer


def _stderr_text(err: bytes) -> str:
    lines = [ln for ln in err.decode(errors="replace").splitlines() if "failed to connect to syslog" not in ln]
    return "\n".join(lines).strip()


class Netavark:
    def __init__(self, config, lock_factory):
        self.binary = find_helper("netavark", config)
        self.aardvark = find_helper("aardvark-dns", config)
        self.config = config
        self.config_dir = config.network_run_dir
        os.makedirs(self.config_dir, mode=0o700, exist_ok=True)
        self.env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "RUST_LOG": "netavark=warn"}
        #: held around every netavark call (re-entrant in this process);
        #: the engine's file lock, on RUNROOT/networks/netavark.lock
        self.lock = lock_factory(os.path.join(self.config_dir, "netavark.lock"))

    @property
    def rootless(self) -> bool:
        from .. import rootless

        return rootless.is_rootless()

    def prefix(self) -> list[str]:
        """A rootless user's bridges live in its rootless network namespace
        (network/rootless_netns.py): netavark and aardvark-dns run there."""
        if not self.rootless:
            return []
        from . import rootless_netns

        return [shutil.which("nsenter") or "nsenter", f"--net={rootless_netns.ensure(self.config)}", "--"]

    def start(self, command: str, netns: str, options: dict) -> Call:
        return Call(self, command, netns, options)

    def setup(self, netns: str, options: dict) -> dict:
        return self.start("setup", netns, options).result()

    def teardown(self, netns: str, options: dict) -> None:
        self.start("teardown", netns, options).result()
