"""The engine's event log: one JSON object per line in a file under the run root.

Like podman's "file" events backend: appending with O_APPEND keeps lines
from concurrent processes whole, and readers (`pypod events`, the service)
follow the file.
"""

from __future__ import annotations

import os
import time

from ..lean import json_dumps, json_loads


class EventLog:
    def __init__(self, path: str, backend: str = "file"):
        self.path = path
        #: "file", or "none": nothing is written and reading is an error, as podman's null eventer
        self.backend = backend

    def write(self, type_: str, action: str, id_: str = "", name: str = "", image: str = "", **attributes) -> None:
        if self.backend == "none":
            return
        event = {
            "type": type_,
            "action": action,
            "id": id_,
            "name": name,
            "image": image,
            "time": time.time_ns(),
            "attributes": {k: str(v) for k, v in attributes.items()},
        }
        line = (json_dumps(event, separators=(",", ":")) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            from .. import private

            private.makedirs(os.path.dirname(self.path))
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def container(self, ctr, action: str, **attributes) -> None:
        """A container's event; its labels ride along as attributes, and its
        image by the name it resolved to, as in podman."""
        cfg = ctr.config
        self.write("container", action, ctr.id, cfg.name, cfg.image_shown,
                   **{**(cfg.labels or {}), **attributes})

    def read(self, since_ns: int = 0, until_ns: int = 0, follow: bool = False, stop=None, from_end: bool = False):
        """Yield events (dicts) in order; with follow, wait for new ones until
        stop() returns True or until_ns passes."""
        if self.backend == "none":
            from ..errors import InvalidArgument

            raise InvalidArgument('cannot read events with the "none" backend')
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            if not follow:
                return
            from .. import private

            private.makedirs(os.path.dirname(self.path))
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
            f = open(self.path, "rb")
        with f:
            if from_end:
                f.seek(0, os.SEEK_END)  # a stream without --since shows only what happens from now on
            pending = b""
            while True:
                chunk = f.readline()
                if chunk:
                    pending += chunk
                    if not pending.endswith(b"\n"):
                        continue
                    line, pending = pending, b""
                    try:
                        ev = json_loads(line)
                    except ValueError:
                        continue
                    if since_ns and ev.get("time", 0) < since_ns:
                        continue
                    if until_ns and ev.get("time", 0) > until_ns:
                        return
                    yield ev
                    continue
                if not follow or (stop is not None and stop()):
                    return
                if until_ns and time.time_ns() > until_ns:
                    return
                time.sleep(0.05)


#: attributes pypod records that podman's Event has as fields of their own
_FIELDS = {"containerExitCode": "ContainerExitCode", "podId": "PodID", "network": "Network", "health_status": "HealthStatus"}


def podman_event(ev: dict) -> dict:
    """A logged event as podman's events.Event (JSON field names and all)."""
    attrs = dict(ev.get("attributes") or {})
    out: dict = {}
    code = attrs.pop("containerExitCode", None)
    if code is not None:
        out["ContainerExitCode"] = int(code)
    if ev.get("id"):
        out["ID"] = ev["id"]
    if ev.get("image"):
        out["Image"] = ev["image"]
    if ev.get("name"):
        out["Name"] = ev["name"]
    if attrs.get("network"):
        out["network"] = attrs.pop("network")
    out["Status"] = ev["action"]
    out["Time"] = ev["time"]
    out["Type"] = ev["type"]
    if attrs.get("health_status"):
        out["health_status"] = attrs.pop("health_status")
    if attrs.get("podId"):
        out["PodID"] = attrs.pop("podId")
    out["Attributes"] = attrs or None
    return out


def event_predicate(filters: dict[str, list[str]]):
    """podman's event filters: container, event (status), image, pod, volume,
    network, type, label; values of a key are alternatives."""
    from ..errors import InvalidArgument

    def one(key: str, value: str):
        k = key.upper()
        if k == "CONTAINER":
            return lambda e: e["type"] == "container" and (e["name"] == value or e["id"].startswith(value))
        if k in ("EVENT", "STATUS"):
            return lambda e: e["action"] == value
        if k in ("IMAGE", "POD"):
            kind = k.lower()
            return lambda e: e["type"] == kind and (e["name"] == value or e["id"].startswith(value))
        if k == "VOLUME":
            return lambda e: e["type"] == "volume" and (e["id"].startswith(value) or e["name"] == value)
        if k == "NETWORK":
            return lambda e: e["type"] == "network" and (e["name"] == value or e["id"].startswith(value)
                                                          or (e.get("attributes") or {}).get("network") == value)
        if k == "TYPE":
            return lambda e: e["type"] == value
        if k == "LABEL":
            lk, sep, lv = value.partition("=")
            return lambda e: bool(sep) and (e.get("attributes") or {}).get(lk) == lv
        raise InvalidArgument(f"{key} is an invalid filter")

    groups = {key: [one(key, v) for v in values] for key, values in filters.items()}
    return lambda e: all(any(f(e) for f in fs) for fs in groups.values())
