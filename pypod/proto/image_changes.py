"""Dockerfile instructions applied to an image config: `commit --change`,
`import --change`, the APIs' `changes` parameter (and build's metadata
instructions).

parse_changes turns instructions into a partial OCI image config (its
"config" object's keys); apply_changes merges one into a config the way a
Dockerfile does: ENV replaces a variable in place or appends it, LABEL,
EXPOSE and VOLUME add to what is there, ONBUILD appends, the rest replace.
"""

from __future__ import annotations

import json
import shlex

from ..errors import InvalidArgument

#: what commit and import accept, as podman does
INSTRUCTIONS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")


def parse_changes(changes: list[str]) -> dict:
    out: dict = {}
    for change in changes:
        instr, value = _split(change)
        if instr not in INSTRUCTIONS:
            raise bad(change, f"invalid instruction {instr}")
        if not value and instr not in ("CMD", "ENTRYPOINT"):
            raise bad(change, "missing value")
        if instr in ("CMD", "ENTRYPOINT"):
            out["Cmd" if instr == "CMD" else "Entrypoint"] = _command(change, value)
        elif instr == "ENV":
            out["Env"] = _merge_env(out.get("Env", []), _pairs(change, value, "ENV"))
        elif instr == "LABEL":
            out.setdefault("Labels", {}).update(dict(kv.split("=", 1) for kv in _pairs(change, value, "LABEL")))
        elif instr == "EXPOSE":
            for port in value.split():
                out.setdefault("ExposedPorts", {})[_port(change, port)] = {}
        elif instr == "VOLUME":
            for path in _list(change, value):
                out.setdefault("Volumes", {})[path] = {}
        elif instr == "ONBUILD":
            out.setdefault("OnBuild", []).append(value)
        elif instr == "STOPSIGNAL":
            out["StopSignal"] = value
        elif instr == "USER":
            out["User"] = value
        else:
            out["WorkingDir"] = value
    return out


def apply_changes(config: dict, changes: dict) -> dict:
    """A copy of the image config's "config" object with changes applied."""
    out = dict(config)
    for key, value in changes.items():
        if key == "Env":
            out["Env"] = _merge_env(list(out.get("Env") or []), value)
        elif key in ("Labels", "ExposedPorts", "Volumes"):
            out[key] = {**(out.get(key) or {}), **value}
        elif key == "OnBuild":
            out["OnBuild"] = [*(out.get("OnBuild") or []), *value]
        else:
            out[key] = value
    return out


def bad(change: str, why: str) -> InvalidArgument:
    return InvalidArgument(f'invalid change "{change}" - {why}')


def _split(change: str) -> tuple[str, str]:
    text = change.strip()
    for i, ch in enumerate(text):
        if ch.isspace() or ch == "=":
            return text[:i].upper(), text[i + 1:].strip()
    return text.upper(), ""


def _command(change: str, value: str) -> list[str]:
    """The exec form (a JSON array) as it is, the shell form under /bin/sh -c."""
    if value.startswith("["):
        try:
            cmd = json.loads(value)
        except ValueError:
            cmd = None
        if isinstance(cmd, list) and all(isinstance(x, str) for x in cmd):
            return cmd
        raise bad(change, "not a JSON array of strings")
    return ["/bin/sh", "-c", value] if value else []


def _list(change: str, value: str) -> list[str]:
    if value.startswith("["):
        return _command(change, value)
    return value.split()


def _words(change: str, value: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError as e:
        raise bad(change, str(e)) from None


def _pairs(change: str, value: str, instr: str) -> list[str]:
    """KEY=VALUE pairs (quoted as a shell would), or the old form `KEY VALUE`."""
    words = _words(change, value)
    if words and all("=" in w for w in words):
        pairs = words
    else:
        key, _, rest = value.partition(" ")
        if "=" in key or not rest.strip():
            raise bad(change, f"{instr} needs KEY=VALUE")
        pairs = [f"{key}={rest.strip()}"]
    for p in pairs:
        if not p.split("=", 1)[0]:
            raise bad(change, f"{instr} needs a name before =")
    return pairs


def _port(change: str, port: str) -> str:
    num, _, proto = port.partition("/")
    lo, _, hi = num.partition("-")
    ok = lo.isdigit() and 0 < int(lo) < 65536 and (not hi or (hi.isdigit() and int(lo) <= int(hi) < 65536))
    if not ok or proto.lower() not in ("", "tcp", "udp", "sctp"):
        raise bad(change, f"invalid port {port!r}")
    return f"{num}/{(proto or 'tcp').lower()}"


def _merge_env(base: list[str], extra: list[str]) -> list[str]:
    """Later settings of a variable replace earlier ones, in place."""
    out: dict[str, str] = {}
    for item in [*base, *extra]:
        out[item.split("=", 1)[0]] = item
    return list(out.values())
