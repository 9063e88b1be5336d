"""What every route module shares: an engine per request, and the checks
that turn a request body's wrongly typed field into a 400 naming it."""

from __future__ import annotations

from ..errors import InvalidArgument
from .http import Request, Streamed


def engine_for(req: Request):
    return req.handler.server.new_engine()


class EngineScope:
    """`with EngineScope(req) as eng`: an engine for a route that streams
    or hijacks, given back when the block ends."""

    def __init__(self, req: Request):
        self.engine = engine_for(req)

    def __enter__(self):
        return self.engine

    def __exit__(self, *exc):
        self.engine.close()


def with_engine(fn):
    def wrapper(req: Request):
        with EngineScope(req) as eng:
            return fn(req, eng)

    wrapper.__name__ = fn.__name__
    return wrapper


def strlist(v, what: str) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise InvalidArgument(f"{what} must be a list of strings")
    return list(v)


def strdict(v, what: str) -> dict[str, str]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise InvalidArgument(f"{what} must be an object")
    return {str(k): str(x) for k, x in v.items()}


def int_field(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise InvalidArgument(f"{what} must be an integer")
    return v


def piped(req: Request, produce, content_type: str = "application/x-tar") -> Streamed:
    """A body produce(engine, out) writes, sent as it is written (a pipe and
    a thread: an export of gigabytes never sits in memory)."""
    import os
    import threading

    r, w = os.pipe()

    def writer() -> None:
        try:
            with os.fdopen(w, "wb", buffering=1 << 20) as out, EngineScope(req) as eng:
                produce(eng, out)
        except OSError:
            pass  # the client went away, and the reader closed its end
        except Exception as e:  # the client sees a truncated body; the service log says why
            log = getattr(req.handler.server, "log_bug", None)
            if log:
                log(f"{req.method} {req.path}", e)

    threading.Thread(target=writer, name="api-tar", daemon=True).start()

    def chunks():
        with os.fdopen(r, "rb") as f:
            while True:
                data = f.read(1 << 20)
                if not data:
                    return
                yield data

    return Streamed(chunks(), content_type)
