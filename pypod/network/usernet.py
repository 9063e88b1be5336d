"""User-mode networking: slirp4netns (podman 4's rootless default) and pasta
(podman 5's), for a container that has a network namespace of its own but
no right to wire it to the host with veths and firewall rules.

pypod makes the namespace (network/netns.py, under RUNROOT/netns, as for a
bridge) and starts the helper on it before the runtime creates the
container, so the container joins it by path:

- slirp4netns configures tap0 (10.0.2.100/24, gateway 10.0.2.2, DNS
  10.0.2.3) and writes to its ready fd; it lives as long as the write end
  of its exit fd is open, and that end is handed to conmon, as podman
  does: the container's monitor ending ends its network.  Published ports
  are added through its API socket (podman's port_handler=slirp4netns).
- pasta copies the host's addresses and routes into the namespace, forwards
  the published ports itself (-t/-u), goes to the background once ready,
  and quits when the namespace file goes away.

Either helper's PID is kept in the container's run dir, so teardown (the
cleanup of a stopped container, or a crash's repair) ends it.
"""

from __future__ import annotations

import os

from ..errors import InvalidArgument, PypodError

# every `run` asks is_usernet() of its mode: what the helpers need (json,
# select, socket, subprocess, netns and its ctypes) is imported where they start

TUN = "/dev/net/tun"
MODES = ("slirp4netns", "pasta")
SLIRP_ADDRESS, SLIRP_GATEWAY, SLIRP_DNS = "10.0.2.100", "10.0.2.2", "10.0.2.3"
_READY_TIMEOUT = 10.0


def mode_name(mode: str) -> str:
    """slirp4netns, or pasta, of a network mode that may carry options ("slirp4netns:mtu=1500")."""
    return mode.partition(":")[0]


def is_usernet(mode: str) -> bool:
    return mode_name(mode) in MODES


def options(mode: str) -> dict[str, str]:
    """podman's slirp4netns options: allow_host_loopback, mtu, cidr, enable_ipv6, port_handler."""
    _name, _, text = mode.partition(":")
    out = {}
    for item in filter(None, text.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise InvalidArgument(f"invalid option for {mode_name(mode)}: {item!r}")
        out[key] = value
    return out


def check(mode: str) -> None:
    """At create: the helper exists, the options are known, and the tun device is usable."""
    import shutil

    name = mode_name(mode)
    if not shutil.which(name):
        pkg = "passt" if name == "pasta" else name
        raise InvalidArgument(f"could not find {name}, the network namespace can't be configured: "
                              f"executable file not found in $PATH (package {pkg})")
    if name == "slirp4netns":
        for key, value in options(mode).items():
            if key not in ("allow_host_loopback", "mtu", "cidr", "enable_ipv6", "port_handler"):
                raise InvalidArgument(f"unknown option for slirp4netns: {key!r}")
            if key == "port_handler" and value not in ("slirp4netns", "rootlesskit"):
                raise InvalidArgument(f"unknown port_handler for slirp4netns: {value!r}")
    check_tun()


def check_tun() -> None:
    """Both helpers open /dev/net/tun: without udev it can be left 0600 (root's alone)."""
    try:
        fd = os.open(TUN, os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        mode = ""
        try:
            mode = f" (mode {oct(os.stat(TUN).st_mode & 0o777)[2:].zfill(4)})"
        except OSError:
            pass
        raise PypodError(f"{TUN}{mode} cannot be opened: {(e.strerror or str(e)).lower()}: rootless networking "
                         f"needs the tun device; as root: chmod 0666 {TUN} (its standard mode), or use --network none") from None
    os.close(fd)


def status(mode: str) -> dict | None:
    """What the container's /etc/hosts and resolv.conf say, in netavark's answer's shape."""
    if mode_name(mode) != "slirp4netns":
        return None  # pasta: the host's own addresses and resolvers
    return {"slirp4netns": {"dns_server_ips": [SLIRP_DNS], "dns_search_domains": [],
                            "interfaces": {"tap0": {"subnets": [{"ipnet": f"{SLIRP_ADDRESS}/24", "gateway": SLIRP_GATEWAY}]}}}}


class _Fd:
    """An fd to hand to conmon (Plan.held_fds wants fileno() and close())."""

    def __init__(self, fd: int):
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Pending:
    """The helper started; finish() waits until the namespace is wired and the ports are forwarded."""

    def __init__(self, netns_path: str, held: list, wait, status: dict | None):
        self.netns = netns_path
        self.held = held
        self._wait = wait
        self._status = status
        self.done = False

    def finish(self) -> dict | None:
        if not self.done:
            self._wait()
            self.done = True
        return self._status

    def close_held(self) -> None:
        for s in self.held:
            s.close()
        self.held = []


def _run_dir(engine, container_id: str) -> str:
    from .. import private

    d = engine.config.container_run_dir(container_id)
    private.makedirs(d)
    return d


def setup(engine, cfg, netns_path: str) -> Pending:
    from . import netns

    teardown(engine, cfg.id)  # what a crash left
    netns.create(netns_path)
    try:
        if mode_name(cfg.network) == "pasta":
            return _pasta(engine, cfg, netns_path)
        return _slirp4netns(engine, cfg, netns_path)
    except BaseException:
        teardown(engine, cfg.id)
        raise


def _slirp4netns(engine, cfg, netns_path: str) -> Pending:
    import select
    import shutil
    import subprocess

    opts = options(cfg.network)
    run_dir = _run_dir(engine, cfg.id)
    ready_r, ready_w = os.pipe()
    exit_r, exit_w = os.pipe()
    argv = [shutil.which("slirp4netns"), "--configure", f"--mtu={opts.get('mtu', '65520')}",
            f"--ready-fd={ready_w}", f"--exit-fd={exit_r}", "--netns-type=path"]
    if opts.get("allow_host_loopback", "false") != "true":
        argv.append("--disable-host-loopback")
    if opts.get("cidr"):
        argv.append(f"--cidr={opts['cidr']}")
    if opts.get("enable_ipv6") == "true":
        argv.append("--enable-ipv6")
    ports = cfg.networking.ports
    if ports:
        argv.append("--api-socket=api.sock")  # relative to its cwd: the run dir's full path can outgrow sun_path
    argv += [netns_path, "tap0"]
    log = os.open(os.path.join(run_dir, "slirp4netns.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        proc = subprocess.Popen(argv, cwd=run_dir, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                pass_fds=(ready_w, exit_r), start_new_session=True)
    finally:
        os.close(log)
        os.close(ready_w)
        os.close(exit_r)
    _write_pid(run_dir, proc.pid)  # never waited for here: it outlives this process; subprocess reaps it in a service

    def wait() -> None:
        try:
            ready, _, _ = select.select([ready_r], [], [], _READY_TIMEOUT)
            if not ready or os.read(ready_r, 1) != b"1":
                raise PypodError(f"slirp4netns failed: {_log_tail(run_dir, 'slirp4netns.log') or 'it did not get ready'}")
        finally:
            os.close(ready_r)
        if ports:
            _slirp_forward(run_dir, ports)

    return Pending(netns_path, [_Fd(exit_w)], wait, status(cfg.network))


def _slirp_forward(run_dir: str, ports) -> None:
    for p in ports:
        if p.protocol not in ("tcp", "udp"):
            continue
        for i in range(p.range):
            slirp_api(run_dir, "api.sock", {"execute": "add_hostfwd", "arguments": {
                "proto": p.protocol, "host_addr": p.host_ip or "0.0.0.0",
                "host_port": p.host_port + i, "guest_port": p.container_port + i}}, f"{p.host_port + i}/{p.protocol}")


def slirp_api(directory: str, name: str, request: dict, port: str) -> dict:
    """One request to a slirp4netns API socket (directory/name, reached
    through /proc/self/fd so that a long directory still fits sun_path)."""
    import json
    import socket

    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(_READY_TIMEOUT)
            s.connect(f"/proc/self/fd/{dfd}/{name}")
            s.sendall(json.dumps(request).encode())
            s.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
    except OSError as e:
        raise PypodError(f"slirp4netns API: {(e.strerror or str(e)).lower()}") from None
    finally:
        os.close(dfd)
    try:
        reply = json.loads(answer or b"{}")
    except ValueError:
        reply = {}
    if "error" in reply or not reply:  # list_hostfwd answers its entries bare, the others {"return": ...}
        why = (reply.get("error") or {}).get("desc") or answer.decode(errors="replace") or "no answer"
        if port:
            from .ports import PortInUse

            raise PortInUse(f"cannot expose port {port} with slirp4netns: {why}")
        raise PypodError(f"slirp4netns API: {why}")
    return reply.get("return", reply)


def _pasta(engine, cfg, netns_path: str) -> Pending:
    import shutil
    import subprocess

    run_dir = _run_dir(engine, cfg.id)
    pid_file = os.path.join(run_dir, "pasta.pid")
    argv = [shutil.which("pasta"), "--config-net", "--quiet", "--netns", netns_path, "--pid", pid_file]
    if os.geteuid() == 0:
        from .. import rootless

        if not rootless.is_rootless():
            argv += ["--runas", "0"]  # as real root pasta would become nobody, who cannot open the namespace
    for proto, flag in (("tcp", "-t"), ("udp", "-u")):
        specs = []
        for p in cfg.networking.ports:
            if p.protocol != proto:
                continue
            last = p.range - 1
            host = f"{p.host_port}-{p.host_port + last}" if last else str(p.host_port)
            ctr = f"{p.container_port}-{p.container_port + last}" if last else str(p.container_port)
            specs.append(f"{p.host_ip + '/' if p.host_ip else ''}{host}:{ctr}")
        for spec in specs or ["none"]:
            argv += [flag, spec]
    argv += ["-T", "none", "-U", "none"]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise PypodError(f"pasta failed with exit code {proc.returncode}: {(proc.stderr or proc.stdout).strip()}")
    return Pending(netns_path, [], lambda: None, None)


def _write_pid(run_dir: str, pid: int) -> None:
    from .. import private

    private.write_file(os.path.join(run_dir, "slirp4netns.pid"), str(pid))


def _log_tail(run_dir: str, name: str) -> str:
    try:
        with open(os.path.join(run_dir, name), errors="replace") as f:
            lines = f.read().strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def teardown(engine, container_id: str) -> None:
    """End the helper (if its PID still names it) and remove the namespace; safe to repeat."""
    import signal

    from . import netns
    from .sandbox import netns_path

    run_dir = engine.config.container_run_dir(container_id)
    for name, prog in (("slirp4netns.pid", b"slirp4netns"), ("pasta.pid", b"pasta")):
        path = os.path.join(run_dir, name)
        try:
            with open(path) as f:
                pid = int(f.read().strip() or 0)
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0]
            if pid > 0 and os.path.basename(argv0) == prog:
                os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
        try:
            os.unlink(path)
        except OSError:
            pass
    netns.remove(netns_path(engine, container_id))
