"""The rootless network namespace: where a rootless user's bridge networks
live, as podman 4 keeps them.

A user may not make bridges, veths or firewall rules on the host, but may
in a network namespace its own user namespace owns.  So one namespace per
run root (RUNROOT/netns/rootless-netns) holds the user's bridges, netavark
runs inside it (through nsenter) and starts aardvark-dns there, and
slirp4netns wires it to the host (10.0.2.100 on tap0, NAT to the host's
network).  Each container still has a namespace of its own, joined to a
bridge in this one by netavark's veth.  A published port is a slirp4netns
forward from the host to this namespace, where netavark's DNAT rule takes
it on to the container.

The namespace and its slirp4netns stay until the pause process goes (a
reboot, or the user's last process): podman keeps its own the same way
while containers come and go.
"""

from __future__ import annotations

import os

from ..errors import PypodError
from . import netns

NAME = "rootless-netns"


def path(config) -> str:
    return os.path.join(config.runroot, "netns", NAME)


def _dir(config) -> str:
    return os.path.join(config.runroot, "netns")


def ensure(config) -> str:
    """The namespace, made (with its slirp4netns) if it is not there or lost its helper."""
    import fcntl

    p = path(config)
    if netns.is_mounted(p) and _alive(config):
        return p
    os.makedirs(_dir(config), mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(_dir(config), NAME + ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one maker at a time
        if netns.is_mounted(p) and _alive(config):
            return p
        netns.remove(p)
        netns.create(p)
        try:
            _start_slirp(config, p)
        except BaseException:
            netns.remove(p)
            raise
    finally:
        os.close(fd)
    return p


def _pid_file(config) -> str:
    return os.path.join(_dir(config), NAME + ".pid")


def _alive(config) -> bool:
    try:
        with open(_pid_file(config)) as f:
            pid = int(f.read().strip() or 0)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return os.path.basename(f.read().split(b"\0")[0]) == b"slirp4netns"
    except (OSError, ValueError):
        return False


def _start_slirp(config, ns_path: str) -> None:
    import select
    import shutil
    import subprocess

    from .. import private
    from .usernet import check_tun

    check_tun()
    slirp = shutil.which("slirp4netns")
    if not slirp:
        raise PypodError("could not find slirp4netns, the rootless network namespace can't be configured "
                         "(package slirp4netns)")
    d = _dir(config)
    ready_r, ready_w = os.pipe()
    log = os.open(os.path.join(d, NAME + ".log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        for stale in (NAME + ".sock",):
            try:
                os.unlink(os.path.join(d, stale))
            except FileNotFoundError:
                pass
        proc = subprocess.Popen([slirp, "--configure", "--mtu=65520", "--disable-host-loopback", f"--ready-fd={ready_w}",
                                 f"--api-socket={NAME}.sock", "--netns-type=path", ns_path, "tap0"],
                                cwd=d, stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(ready_w,),
                                start_new_session=True)
    finally:
        os.close(log)
        os.close(ready_w)
    try:
        ready, _, _ = select.select([ready_r], [], [], 10.0)
        if not ready or os.read(ready_r, 1) != b"1":
            proc.kill()
            raise PypodError("slirp4netns for the rootless network namespace did not get ready")
    finally:
        os.close(ready_r)
    private.write_file(_pid_file(config), str(proc.pid))


def api_socket(config) -> str:
    return os.path.join(_dir(config), NAME + ".sock")


def forward(config, ports) -> None:
    """Publish ports: the host's port to the same port of this namespace, where netavark's rules take over."""
    from .usernet import slirp_api

    if ports:
        ensure(config)
    for p in ports:
        if p.protocol not in ("tcp", "udp"):
            continue
        for i in range(p.range):
            slirp_api(_dir(config), NAME + ".sock", {"execute": "add_hostfwd", "arguments": {
                "proto": p.protocol, "host_addr": p.host_ip or "0.0.0.0", "host_port": p.host_port + i,
                "guest_port": p.host_port + i}}, f"{p.host_port + i}/{p.protocol}")


def unforward(config, ports) -> None:
    """Take the forwards of ports away again (gone already is fine)."""
    from .usernet import slirp_api

    if not ports or not _alive(config):
        return
    try:
        listed = slirp_api(_dir(config), NAME + ".sock", {"execute": "list_hostfwd"}, "")
    except PypodError:
        return
    wanted = {(p.protocol, p.host_port + i) for p in ports for i in range(p.range)}
    for entry in listed.get("entries", []):
        if (entry.get("proto"), entry.get("host_port")) in wanted:
            try:
                slirp_api(_dir(config), NAME + ".sock",
                          {"execute": "remove_hostfwd", "arguments": {"id": entry.get("id")}}, "")
            except PypodError:
                pass


def join(config) -> None:
    """setns into the namespace (`pypod unshare --rootless-netns`)."""
    p = ensure(config)
    fd = os.open(p, os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns = getattr(os, "setns", None)
        if setns is None:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(fd, netns.CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise PypodError(f"joining the rootless network namespace: {os.strerror(e).lower()}")
        else:
            setns(fd, netns.CLONE_NEWNET)
    finally:
        os.close(fd)
