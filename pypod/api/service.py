"""The REST service (`pypod system service`): serve the APIs until idle.

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


def _activation_socket() -> socket.socket | None:
    """The listener systemd-style activation handed over at fd 3, if any.

    The variables are dropped once taken: conmon passes LISTEN_FDS on to
    containers, and the API socket must never reach one."""
    fds, pid = os.environ.get("LISTEN_FDS", ""), os.environ.get("LISTEN_PID")
    if not fds.isdigit() or int(fds) < 1 or pid not in (str(os.getpid()), None):
        return None
    for var in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
        os.environ.pop(var, None)
    try:
        sock = socket.socket(fileno=3)
    except OSError as e:
        raise InvalidArgument(f"socket activation: fd 3 is not a socket: {e}") from None
    if sock.type != socket.SOCK_STREAM:
        raise InvalidArgument("socket activation: fd 3 is not a stream socket")
    sock.set_inheritable(False)
    return sock


def listen(uri: str, group: str = "") -> tuple[socket.socket, str]:
    sock = _activation_socket()
    if sock is not None:
        return sock, "socket activation (fd 3)"
    if uri.startswith("tcp://"):
        host, _, port = uri[6:].rpartition(":")
        if not port.isdigit() or not 0 < int(port) < 65536:
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
    if not path or os.path.isdir(path):
        raise InvalidArgument(f"unix socket path {path!r} is a directory, not a socket to create")
    # bound through the directory's fd (below), so only the file name must fit sockaddr_un
    if len(os.fsencode(os.path.basename(path))) > 70:
        raise InvalidArgument(f"unix socket name {os.path.basename(path)!r} is too long: at most 70 bytes")
    gid = -1
    if group:
        import grp

        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise InvalidArgument(f"unknown group {group!r}") from None
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    # Bound and listening under a private name first, then renamed into
    # place: a client that sees the path can connect at once (bind makes the
    # file before listen makes it accept), and a stale socket is replaced
    # in one step.
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Bound through the directory's fd: a path longer than sun_path holds works.
    dfd = os.open(os.path.dirname(os.path.abspath(tmp)), os.O_PATH | os.O_CLOEXEC)
    old = os.umask(0o177)  # the socket is born 0600: no window where others can connect
    try:
        sock.bind(f"/proc/self/fd/{dfd}/{os.path.basename(tmp)}")
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old)
        os.close(dfd)
    try:
        if group:
            os.chown(tmp, -1, gid)
            os.chmod(tmp, 0o660)
        sock.listen(128)
        os.rename(tmp, path)
    except BaseException:
        sock.close()
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return sock, uri


class EnginePool:
    """Engines reused across requests: each holds SQLite connections (made
    to be handed between threads, never shared at once) and the runtime it
    found, which a fresh Engine per request would open and look up again."""

    def __init__(self, config, keep: int = 32):
        from ..engine.engine import Engine

        pool = self

        class PooledEngine(Engine):
            def close(self) -> None:  # back to the pool; closed for real only beyond its size
                pool.put(self)

            def really_close(self) -> None:
                Engine.close(self)

        self.engine_class = PooledEngine
        self.config = config
        self.keep = keep
        self.free: list = []
        self.lock = threading.Lock()

    def get(self):
        with self.lock:
            if self.free:
                return self.free.pop()
        return self.engine_class(self.config)

    def put(self, eng) -> None:
        with self.lock:
            if len(self.free) < self.keep and eng not in self.free:
                self.free.append(eng)
                return
        eng.really_close()

    def close_all(self) -> None:
        with self.lock:
            free, self.free = self.free, []
        for eng in free:
            eng.really_close()


def build_router():
    from . import (build_routes, containerfs_routes, docker, libpod_generate, libpod_images, libpod_system,
                   registry_routes, update_routes, volume_routes)
    from .http import Router

    router = Router()
    docker.register(router)
    registry_routes.register(router)
    containerfs_routes.register(router)
    volume_routes.register(router)
    update_routes.register(router)
    libpod_images.register(router)
    libpod_system.register(router)
    libpod_generate.register(router)
    build_routes.register(router)
    from . import networks, pods

    networks.register(router)
    pods.register(router)
    from . import checkpoint_routes, health_routes

    checkpoint_routes.register(router)
    health_routes.register(router)
    return router


def _raise_fd_limit() -> None:
    """Idle clients cost the service a descriptor each: allow as many as
    the hard limit does (the default soft limit, 1024, is what a CLI needs)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1 << 16 if hard == resource.RLIM_INFINITY else hard
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def serve(config, uri: str = "", idle_time: int = 5, group: str = "", cors: str = "") -> int:
    """Serve both APIs for the engine config until idle for idle_time seconds
    (0: until SIGTERM or SIGINT)."""
    from .server import Server

    if idle_time < 0:
        raise InvalidArgument(f"invalid --time {idle_time}: seconds, 0 for never")
    uri = uri or f"unix://{os.path.join(config.runroot, 'pypod.sock')}"
    sock, where = listen(uri, group)
    # Only a socket this process bound is its to remove at exit, and only
    # while the path is still that socket: a newer service may have taken it.
    owned = uri[7:] if uri.startswith("unix://") and not where.startswith("socket activation") else ""
    owned_id = _file_id(owned) if owned else None
    _raise_fd_limit()
    server = Server(sock, build_router())
    pool = EnginePool(config)
    server.new_engine = pool.get
    if cors:
        # browsers on that origin may call the API (podman's --cors)
        server.extra_headers = [("Access-Control-Allow-Origin", cors), ("Access-Control-Allow-Headers", "*"),
                                ("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, HEAD, OPTIONS")]
    server.debug = config.log_level == "debug"
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
            if idle_time > 0 and server.active == 0 and time.monotonic() - server.last_activity > idle_time:
                break
    finally:
        # Graceful: stop accepting, close idle connections, let requests in
        # flight finish (a short while; streams that follow watch `stopping`).
        server.stopping = True
        server.shutdown()
        deadline = time.monotonic() + 10
        while server.active and time.monotonic() < deadline:
            time.sleep(0.05)
        server.server_close()
        pool.close_all()
        if owned and _file_id(owned) == owned_id:
            try:
                os.unlink(owned)
            except OSError:
                pass
    return 0
