"""`--security-opt` (and the API's SecurityOpt list) into a SecurityConfig."""

from __future__ import annotations

import os

from ..engine.security import UNCONFINED, DeviceSpec, SecurityConfig
from ..errors import InvalidArgument

_LABEL_KEYS = ("user", "role", "type", "level", "filetype")


def parse_security_opts(opts: list[str], sec: SecurityConfig | None = None) -> SecurityConfig:
    """podman's spellings: no-new-privileges[=BOOL], seccomp=, apparmor=,
    label=, mask=, unmask=, proc-opts=, and Docker's systempaths=unconfined."""
    sec = sec or SecurityConfig()
    for opt in opts:
        if opt == "no-new-privileges":
            sec.no_new_privileges = True
            continue
        key, sep, value = opt.partition("=")
        if not sep:
            # Docker's older spelling: label:disable, seccomp:unconfined
            key, sep, value = opt.partition(":")
        if not sep:
            raise InvalidArgument(f'invalid --security-opt 1: "{opt}"')
        if key == "seccomp":
            if not value:
                raise InvalidArgument(f'invalid --security-opt 2: "{opt}"')
            if value.lstrip().startswith("{"):
                # the Docker CLI sends the profile's contents, not its path
                sec.seccomp_profile, sec.seccomp_profile_json = "", value
            else:
                sec.seccomp_profile = value if value == UNCONFINED else os.path.abspath(value)
        elif key == "apparmor":
            sec.apparmor_profile = value
        elif key == "label":
            _check_label(value, opt)
            sec.label_options.append(value)
        elif key == "mask":
            sec.mask += _abs_paths(value, opt)
        elif key == "unmask":
            sec.unmask += ["ALL"] if value == "ALL" else _abs_paths(value, opt)
        elif key == "systempaths":
            if value != "unconfined":
                raise InvalidArgument(f"invalid systempaths option {value!r}, only `unconfined` is supported")
            sec.unmask.append("ALL")
        elif key == "proc-opts":
            sec.proc_opts = [o for o in value.split(",") if o]
        elif key == "no-new-privileges":
            sec.no_new_privileges = _parse_bool(value, opt)
        else:
            raise InvalidArgument(f'invalid --security-opt 2: "{opt}"')
    return sec


def _parse_bool(value: str, opt: str) -> bool:
    v = value.lower()
    if v in ("1", "t", "true"):
        return True
    if v in ("0", "f", "false"):
        return False
    raise InvalidArgument(f'invalid --security-opt 2: "{opt}"')


def _check_label(value: str, opt: str) -> None:
    if value in ("disable", "nested"):
        return
    key, sep, _v = value.partition(":")
    if not sep or key not in _LABEL_KEYS:
        raise InvalidArgument(f'invalid --security-opt 2: "{opt}": label takes disable, nested, or user:, role:, type:, level:, filetype:')


def _abs_paths(value: str, opt: str) -> list[str]:
    paths = [p for p in value.split(":") if p]
    if not paths or not all(p.startswith("/") for p in paths):
        raise InvalidArgument(f'invalid --security-opt 2: "{opt}": paths must be absolute')
    return paths



def _valid_device_mode(mode: str) -> bool:
    return bool(mode) and len(mode) <= 3 and all(c in "rwm" for c in mode) and len(set(mode)) == len(mode)


def parse_device(spec: str) -> DeviceSpec:
    """HOST[:CONTAINER][:PERMISSIONS], as podman reads --device."""
    parts = spec.split(":")
    if len(parts) > 3 or not parts[0]:
        raise InvalidArgument(f"invalid device specification: {spec}")
    src, dst, perms = parts[0], "", "rwm"
    if len(parts) == 3:
        if not _valid_device_mode(parts[2]):
            raise InvalidArgument(f"invalid device mode: {parts[2]}")
        perms = parts[2]
    if len(parts) >= 2:
        if _valid_device_mode(parts[1]) and len(parts) == 2:
            perms = parts[1]
        elif parts[1] and not parts[1].startswith("/"):
            raise InvalidArgument(f"invalid device mode: {parts[1]}")
        else:
            dst = parts[1]
    try:
        os.stat(src)
    except OSError as e:
        raise InvalidArgument(f"stat {src}: {e.strerror.lower()}") from None
    return DeviceSpec(host_path=src, container_path=dst or src, permissions=perms)
