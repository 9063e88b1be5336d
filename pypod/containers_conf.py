"""containers.conf's [containers] defaults, read as podman reads them.

Files, later ones overriding earlier keys: $CONTAINERS_CONF alone when set,
else /usr/share/containers/containers.conf, /etc/containers/containers.conf
and /etc/containers/containers.conf.d/*.conf.  Only `create` needs them,
and importing a TOML parser costs ~18 ms, so the merged [containers] table
is kept as JSON under the run root, keyed by the files' sizes and mtimes.
"""

from __future__ import annotations

import os

from .lean import json_dumps, json_loads

SYSTEM_FILES = ("/usr/share/containers/containers.conf", "/etc/containers/containers.conf")
DROP_IN_DIR = "/etc/containers/containers.conf.d"


def config_files() -> list[str]:
    env = os.environ.get("CONTAINERS_CONF")
    if env:
        return [env]
    files = [f for f in SYSTEM_FILES if os.path.exists(f)]
    try:
        names = os.listdir(DROP_IN_DIR)
    except OSError:
        names = []
    # glob's "*.conf" (without glob's import of re and fnmatch): no hidden names
    return files + sorted(os.path.join(DROP_IN_DIR, n) for n in names if n.endswith(".conf") and not n.startswith("."))


def _signature(files: list[str]) -> list:
    sig = []
    for f in files:
        try:
            st = os.stat(f)
        except OSError:
            continue
        sig.append([f, st.st_size, st.st_mtime_ns])
    return sig


def containers_table(cache_dir: str) -> dict:
    """The merged [containers] table (an empty dict when no file sets one)."""
    files = config_files()
    sig = _signature(files)
    cache = os.path.join(cache_dir, "containers-conf.json")
    try:
        with open(cache) as f:
            cached = json_loads(f.read())
        if cached.get("sources") == sig:
            return cached["containers"]
    except (OSError, ValueError, AttributeError):
        pass
    table = _parse(files)
    try:
        from . import private

        private.makedirs(cache_dir)
        tmp = f"{cache}.{os.getpid()}"
        private.write_file(tmp, json_dumps({"sources": sig, "containers": table}))
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only run root: parse each time
    return table


def _parse(files: list[str]) -> dict:
    import tomllib

    from .errors import InvalidArgument

    merged: dict = {}
    for path in files:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except OSError:
            continue
        except tomllib.TOMLDecodeError as e:
            raise InvalidArgument(f"reading {path}: {e}") from None
        table = data.get("containers")
        if isinstance(table, dict):
            merged.update(table)
    return merged
