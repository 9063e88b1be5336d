"""Two stdlib conveniences without their imports, for the CLI's start-up.

`enum` (with the functools and collections it imports) costs every CLI
call ~3 ms before any work, and `pypod ps` of an empty store needs nothing
else from them: the container and exec statuses are StrEnums, and the
engine's lazily built parts cached_property, both from here.
tests/unit/test_lean.py holds them to the stdlib's behaviour where pypod
relies on it.
"""

from __future__ import annotations


class cached_property:
    """functools.cached_property: computed on first access, then an ordinary
    attribute of the instance (del it to compute again).  Without 3.11's
    per-class lock, as Python 3.12's: two threads may both compute it once."""

    def __init__(self, func):
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value


class _StrEnumType(type):
    """Each upper-case str attribute of the class body becomes a member:
    an instance of the class, equal to (and hashed as) its value."""

    def __new__(mcls, name: str, bases: tuple, body: dict):
        values = {k: v for k, v in body.items() if k.isupper() and isinstance(v, str)}
        cls = super().__new__(mcls, name, bases, {k: v for k, v in body.items() if k not in values})
        members: dict[str, StrEnum] = {}
        for key, value in values.items():
            member = str.__new__(cls, value)
            member._name = key
            type.__setattr__(cls, key, member)
            members[value] = member
        cls._members = members
        return cls

    def __call__(cls, value):
        """The member whose value this is (a member gives itself), as Enum(value)."""
        try:
            return cls._members[value]
        except (KeyError, TypeError):
            raise ValueError(f"{value!r} is not a valid {cls.__name__}") from None

    def __iter__(cls):
        return iter(cls._members.values())

    def __len__(cls) -> int:
        return len(cls._members)


class StrEnum(str, metaclass=_StrEnumType):
    """`class Status(str, enum.Enum)` for what pypod does with one: members
    by attribute and by value (Status("running")), iteration in declaration
    order, .name and .value, str() and JSON as the value, == with plain
    strings.  Members are singletons for `is` as long as they are not
    copied (pickle or copy make an equal str, not the member)."""

    @property
    def name(self) -> str:
        return self._name

    @property
    def value(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        return format(str.__str__(self), spec)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self._name}: {str.__repr__(self)}>"

    def __reduce_ex__(self, protocol):
        return type(self), (self.value,)


# -- JSON without `re` ----------------------------------------------------------------
#
# `import json` imports re (for the pure-Python fallbacks' patterns and the
# decoder's whitespace skip), and re imports enum and functools: ~4 ms of
# every exec that reads or writes a record.  The C accelerator _json does
# the real work for json.dumps and json.loads either way; these call it
# directly.  Anything out of the ordinary (other arguments, input that does
# not parse) goes to the json module itself, so results and errors are
# json's own.  tests/unit/test_lean.py holds them to json's behaviour.

_JSON_WS = " \t\n\r"
_scanner = None


class _ScanContext:
    """What _json.make_scanner reads from a JSONDecoder: json.loads' defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


def _json_default(o):
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def json_dumps(obj, *, separators: tuple[str, str] = (", ", ": ")) -> str:
    """json.dumps(obj) (or with separators): ASCII, circular references refused."""
    import _json

    if isinstance(obj, str):
        return _json.encode_basestring_ascii(obj)
    # a new encoder each time, as json's: its table of containers being encoded starts empty
    encode = _json.make_encoder({}, _json_default, _json.encode_basestring_ascii, None, separators[1],
                                separators[0], False, False, True)
    return "".join(encode(obj, 0))


def json_loads(text):
    """json.loads(text) for str or UTF-8 bytes."""
    global _scanner
    try:
        s = text.decode() if isinstance(text, (bytes, bytearray)) else text
        if _scanner is None:
            import _json

            _scanner = _json.make_scanner(_ScanContext)
        start = len(s) - len(s.lstrip(_JSON_WS))
        obj, end = _scanner(s, start)
        if len(s.rstrip(_JSON_WS)) == end:
            return obj
    except Exception:
        # StopIteration ("expecting value"), ValueError, TypeError, and a
        # SystemError: the scanner raises json.decoder's JSONDecodeError, and
        # finds that class only if json is already imported
        pass
    import json  # what does not parse here: json's own answer, or its own error

    return json.loads(text)


# -- a thread the process waits for, without `threading` ------------------------------

_pending_threads: list = []


def start_thread(target, *args) -> None:
    """threading.Thread(target=target, args=args).start(), not a daemon:
    the process waits for it before it ends.  threading imports functools
    and collections (~3 ms of an exec, which starts one short thread); this
    runs it on _thread, and an atexit hook waits for it, as the
    interpreter's shutdown joins non-daemon threads (cli/main.py's launch()
    runs the atexit hooks too before its os._exit).  Where threading is
    already imported (the service), threading does it."""
    import sys

    if "threading" in sys.modules:
        import threading

        threading.Thread(target=target, args=args).start()
        return
    import _thread

    done = _thread.allocate_lock()
    done.acquire()

    def run() -> None:
        try:
            target(*args)
        finally:
            done.release()

    if not _pending_threads:
        import atexit

        atexit.register(_join_threads)
    _pending_threads.append(done)
    try:
        _thread.start_new_thread(run, ())
    except BaseException:
        _pending_threads.remove(done)
        raise


def _join_threads() -> None:
    while _pending_threads:
        done = _pending_threads.pop()
        done.acquire()
        done.release()


# -- what a module holds for the commands that need it --------------------------------


class LazyPattern:
    """re.compile(pattern, flags), made on first use: `re` imports enum,
    functools and collections (~6 ms of a command), and most patterns a
    module holds are for input a given command never sees."""

    def __init__(self, pattern: str, flags: int = 0):
        self.pattern = pattern
        self.flags = flags
        self._compiled = None

    def compiled(self):
        if self._compiled is None:
            import re

            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    def match(self, string: str, *args):
        return self.compiled().match(string, *args)

    def fullmatch(self, string: str, *args):
        return self.compiled().fullmatch(string, *args)

    def search(self, string: str, *args):
        return self.compiled().search(string, *args)


def contextmanager(func):
    """contextlib.contextmanager, with contextlib (which imports collections
    and functools) imported at the first call rather than where the
    decorated function is defined."""
    made = None

    def helper(*args, **kwargs):
        nonlocal made
        if made is None:
            import contextlib

            made = contextlib.contextmanager(func)
        return made(*args, **kwargs)

    helper.__name__, helper.__qualname__, helper.__doc__ = func.__name__, func.__qualname__, func.__doc__
    helper.__wrapped__ = func
    return helper


class suppress:
    """contextlib.suppress(*exceptions), without contextlib's import."""

    def __init__(self, *exceptions):
        self.exceptions = exceptions

    def __enter__(self) -> None:
        pass

    def __exit__(self, typ, value, tb) -> bool:
        return typ is not None and issubclass(typ, self.exceptions)
