"""Named service destinations (`pypod system connection`), kept in
$XDG_CONFIG_HOME/pypod/connections.json (~/.config/pypod/...): one JSON
object {"default": NAME, "connections": {NAME: {"uri": URI, "identity": PATH}}}."""

from __future__ import annotations

import json
import os

from ..errors import InvalidArgument

DEFAULT_SOCKET = "unix:///run/pypod/pypod.sock"


def config_path() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "pypod", "connections.json")


def load() -> dict:
    try:
        with open(config_path()) as f:
            data = json.load(f)
    except FileNotFoundError:
        return {"default": "", "connections": {}}
    except (OSError, ValueError) as e:
        raise InvalidArgument(f"reading {config_path()}: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("connections", {}), dict):
        raise InvalidArgument(f"{config_path()}: not a connections file")
    data.setdefault("default", "")
    data.setdefault("connections", {})
    return data


def save(data: dict) -> None:
    from .. import private

    path = config_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    private.write_file(tmp, json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)  # whole or not at all


def check_uri(uri: str) -> str:
    """unix:///path or tcp://host:port; ssh is podman's, not pypod's."""
    scheme, sep, rest = uri.partition("://")
    if not sep or not rest:
        raise InvalidArgument(f'invalid URL "{uri}": expected unix:///path or tcp://host:port')
    if scheme == "ssh":
        raise InvalidArgument(f'"{uri}": ssh destinations are not supported by pypod: use unix:// or tcp://')
    if scheme not in ("unix", "tcp"):
        raise InvalidArgument(f'"{uri}" is not a supported schema')
    if scheme == "tcp":
        host, colon, port = rest.rstrip("/").rpartition(":")
        if not colon or not host or not port.isdigit():
            raise InvalidArgument(f'invalid URL "{uri}": a tcp URL needs host:port')
    elif not rest.startswith("/"):
        raise InvalidArgument(f'invalid URL "{uri}": a unix URL needs an absolute path')
    return uri


def destination(url: str = "", connection: str = "") -> str:
    """The service's URI: --url, else the named (or default) connection,
    else CONTAINER_HOST, else pypod's root socket."""
    if url:
        return check_uri(url)
    data = load()
    if connection:
        if connection not in data["connections"]:
            raise InvalidArgument(f'cannot find connection "{connection}"')
        return check_uri(data["connections"][connection]["uri"])
    if os.environ.get("CONTAINER_HOST"):
        return check_uri(os.environ["CONTAINER_HOST"])
    if data["default"] in data["connections"]:
        return check_uri(data["connections"][data["default"]]["uri"])
    if os.geteuid() != 0:
        from .. import rootless

        return f"unix://{os.path.join(rootless.default_dirs()[1], 'pypod.sock')}"  # the user's own service
    return DEFAULT_SOCKET
