"""Environment variables as users give them: `-e`, `--env-file`, and the
API's lists and maps."""

from __future__ import annotations

import os

from ..errors import InvalidArgument


def read_env_file(path: str) -> list[str]:
    """NAME=VALUE lines; a bare NAME takes its value from our environment,
    as in podman; blank lines and # comments are skipped."""
    try:
        with open(path, "rb") as f:
            raw = f.read().splitlines()
    except OSError as e:
        raise InvalidArgument(f"open {path}: {e.strerror.lower()}") from None
    out = []
    for n, data in enumerate(raw, 1):
        try:
            line = data.decode().strip()
        except UnicodeDecodeError:
            raise InvalidArgument(f"env file {path} contains invalid utf8 bytes at line {n}") from None
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            if line in os.environ:
                out.append(f"{line}={os.environ[line]}")
            continue
        out.append(line)
    return out


def expand_env(items: list[str]) -> list[str]:
    """`-e` values: NAME=VALUE as given, NAME from our environment, and
    NAME* for every variable of ours with that prefix."""
    out = []
    for item in items:
        if "=" in item:
            name = item.split("=", 1)[0]
            if not name:
                raise InvalidArgument(f"invalid environment variable: {item!r}")
            out.append(item)
        elif item.endswith("*"):
            out += [f"{k}={v}" for k, v in os.environ.items() if k.startswith(item[:-1])]
        elif item in os.environ:
            out.append(f"{item}={os.environ[item]}")
    return out


#: the proxy variables --http-proxy (on by default) copies from our environment
PROXY_VARS = ("http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY")


def proxy_env() -> list[str]:
    return [f"{k}={os.environ[k]}" for k in PROXY_VARS if k in os.environ]


def host_env() -> list[str]:
    """--env-host: our whole environment, less what names this host alone."""
    return [f"{k}={v}" for k, v in os.environ.items() if k not in ("HOSTNAME", "HOME", "PWD", "OLDPWD", "SHLVL", "_")]


def read_label_file(path: str) -> dict[str, str]:
    """KEY=VALUE lines (KEY alone for an empty value); # comments skipped."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise InvalidArgument(f"open {path}: {e.strerror.lower()}") from None
    out = {}
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value
    return out


def key_values(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid {what} {item!r}: must be KEY=VALUE")
        out[key] = value
    return out
