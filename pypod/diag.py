"""Diagnostics beside a command's output: warnings and debug lines on
stderr, in the line shape podman's logger writes
(``time="..." level=warning msg="..."``), so scripts that filter podman's
stderr filter pypod's the same way.

The level comes from ``--log-level`` (the engine config); a library user who
wants the lines elsewhere sets `sink`.
"""

from __future__ import annotations

import sys

_ORDER = {"debug": 0, "info": 1, "warning": 2, "warn": 2, "error": 3, "fatal": 4, "panic": 5}

#: the lowest level written; set from the engine config by the front doors
level = "warning"


def _write_stderr(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr closed: a diagnostic must never fail the operation


#: where lines go; replace to capture them
sink = _write_stderr


def set_level(name: str) -> None:
    global level
    level = name if name in _ORDER else "warning"


def _emit(name: str, msg: str) -> None:
    if _ORDER[name] < _ORDER.get(level, 2):
        return
    import time

    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + "Z"
    quoted = msg.replace("\\", "\\\\").replace('"', '\\"')
    sink(f'time="{stamp}" level={name} msg="{quoted}"')


def warn(msg: str) -> None:
    _emit("warning", msg)


def info(msg: str) -> None:
    _emit("info", msg)


def debug(msg: str) -> None:
    _emit("debug", msg)


def error(msg: str) -> None:
    _emit("error", msg)


SYSLOG_SOCKET = "/dev/log"


def enable_syslog() -> None:
    """--syslog: lines go to syslog as well; where no syslog daemon listens,
    say so instead of dropping them."""
    import os

    if not os.path.exists(SYSLOG_SOCKET):
        from .errors import InvalidArgument

        raise InvalidArgument(f"--syslog: no syslog daemon listens on this host ({SYSLOG_SOCKET} is missing)")
    import syslog

    global sink
    previous = sink
    priorities = {"debug": syslog.LOG_DEBUG, "info": syslog.LOG_INFO, "warning": syslog.LOG_WARNING, "error": syslog.LOG_ERR}

    def both(line: str) -> None:
        previous(line)
        word = line.split(" level=", 1)[-1].split(" ", 1)[0]
        syslog.syslog(priorities.get(word, syslog.LOG_NOTICE), line)

    syslog.openlog("pypod")
    sink = both
