"""Signal specs as podman accepts them ("TERM", "SIGTERM", "15", "RTMIN+3").

Numbers are Linux's generic ones (x86, arm, arm64, riscv, s390, ppc); the
table is spelled out rather than taken from the ``signal`` module so that
parsing does not depend on which signals Python chose to expose.
"""

from pypod.errors import InvalidArgument

SIGRTMIN = 34
SIGRTMAX = 64

_BY_NAME = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6,
    "BUS": 7, "FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12,
    "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17, "CLD": 17,
    "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23,
    "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29,
    "POLL": 29, "PWR": 30, "SYS": 31, "RTMIN": SIGRTMIN, "RTMAX": SIGRTMAX,
}

# The first name listed for a number is its canonical one.
_NAMES = {}
for _name, _num in _BY_NAME.items():
    _NAMES.setdefault(_num, _name)
del _name, _num


def parse_signal(spec) -> int:
    """Signal number for a name or number; ``InvalidArgument`` if there is none."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        if 1 <= spec <= SIGRTMAX:
            return spec
        raise InvalidArgument(f"invalid signal: {spec}")
    s = str(spec).strip()
    if s.isdigit():
        n = int(s)
        if 1 <= n <= SIGRTMAX:
            return n
        raise InvalidArgument(f"invalid signal: {spec}")
    name = s.upper()
    if name.startswith("SIG"):
        name = name[3:]
    num = _BY_NAME.get(name)
    if num is not None:
        return num
    for base, sign, lo in (("RTMIN+", 1, SIGRTMIN), ("RTMAX-", -1, SIGRTMAX)):
        if name.startswith(base):
            off = name[len(base):]
            if off.isdigit():
                n = lo + sign * int(off)
                if SIGRTMIN <= n <= SIGRTMAX:
                    return n
    raise InvalidArgument(f"invalid signal: {spec}")


def signal_name(num: int) -> str:
    """``"SIGTERM"`` for 15; real-time signals as ``SIGRTMIN+n`` / ``SIGRTMAX-n``."""
    name = _NAMES.get(num)
    if name is not None:
        return "SIG" + name
    if SIGRTMIN < num <= SIGRTMIN + 15:
        return f"SIGRTMIN+{num - SIGRTMIN}"
    if SIGRTMIN + 15 < num < SIGRTMAX:
        return f"SIGRTMAX-{SIGRTMAX - num}"
    raise InvalidArgument(f"invalid signal: {num}")
