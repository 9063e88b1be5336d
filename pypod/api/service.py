"""`pypod system service [--time SECONDS] [URI]`: serve the APIs until idle.

Listens on a unix socket (mode 0600, or 0660 for --group) by default, on TCP
only when asked (with a warning: the API is root on this machine), or on a
socket handed over by systemd-style activation (LISTEN_FDS).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time

from ..errors import InvalidArgument


def _parse(args: list[str], prog: str):
    from ..cli.main import make_parser

    p = make_parser(prog, "Run an API service (Docker and libpod APIs)")
    p.add_argument("-t", "--time", type=int, default=5, help="seconds idle before the service exits; 0 never exits")
    p.add_argument("--group", default="", help="group that may use the unix socket (mode 0660)")
    p.add_argument("uri", nargs="?", default="", help="unix:///path or tcp://host:port")
    return p.parse_args(args)


def listen(uri: str, group: str = "") -> tuple[socket.socket, str]:
    if os.environ.get("LISTEN_FDS") == "1" and os.environ.get("LISTEN_PID") in (str(os.getpid()), None):
        sock = socket.socket(fileno=3)
        return sock, "socket activation (fd 3)"
    if uri.startswith("tcp://"):
        host, _, port = uri[6:].rpartition(":")
        if not port.isdigit():
            raise InvalidArgument(f"invalid TCP address {uri!r}: tcp://HOST:PORT")
        print(f"WARN: the API is served on {uri} without TLS or authentication: anyone who can reach it is root here",
              file=sys.stderr)
        family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]") or "127.0.0.1", int(port)))
        sock.listen(128)
        return sock, uri
    if not uri.startswith("unix://"):
        raise InvalidArgument(f"unsupported URI {uri!r}: use unix:///path or tcp://host:port")
    path = uri[7:]
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # the socket is born 0600: no window where others can connect
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    if group:
        import grp

        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise InvalidArgument(f"unknown group {group!r}") from None
        os.chown(path, -1, gid)
        os.chmod(path, 0o660)
    sock.listen(128)
    return sock, uri


def build_router():
    from . import docker
    from .http import Router

    router = Router()
    docker.register(router)
    return router


def cli_service(gopts: dict, args: list[str], prog: str) -> int:
    from ..cli.main import _engine
    from ..engine.engine import Engine
    from .http import Server

    a = _parse(args, prog)
    engine = _engine(gopts)
    config = engine.config
    engine.close()
    uri = a.uri or f"unix://{os.path.join(config.runroot, 'pypod.sock')}"
    sock, where = listen(uri, a.group)
    server = Server(sock, build_router())
    server.new_engine = lambda: Engine(config)
    server.stopping = False
    stop = threading.Event()

    def on_term(*_):
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    print(f"pypod API service listening on {where}", file=sys.stderr)
    try:
        while not stop.wait(0.25):
            if a.time > 0 and server.active == 0 and time.monotonic() - server.last_activity > a.time:
                break
    finally:
        # Graceful: stop accepting, let requests in flight finish (a short while).
        server.stopping = True
        server.shutdown()
        deadline = time.monotonic() + 10
        while server.active and time.monotonic() < deadline:
            time.sleep(0.05)
        server.server_close()
        if uri.startswith("unix://"):
            try:
                os.unlink(uri[7:])
            except OSError:
                pass
    return 0
