"""The engine's event log: one JSON object per line in a file under the run root.

Like podman's "file" events backend: appending with O_APPEND keeps lines
from concurrent processes whole, and readers (`pypod events`, the service)
follow the file.
"""

from __future__ import annotations

import json
import os
import time


class EventLog:
    def __init__(self, runroot: str):
        self.path = os.path.join(runroot, "events", "events.log")

    def write(self, type_: str, action: str, id_: str = "", name: str = "", image: str = "", **attributes) -> None:
        event = {
            "type": type_,
            "action": action,
            "id": id_,
            "name": name,
            "image": image,
            "time": time.time_ns(),
            "attributes": {k: str(v) for k, v in attributes.items()},
        }
        line = (json.dumps(event, separators=(",", ":")) + "\n").encode()
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

    def read(self, since_ns: int = 0, until_ns: int = 0, follow: bool = False, stop=None):
        """Yield events (dicts) in order; with follow, wait for new ones until
        stop() returns True or until_ns passes."""
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
            pending = b""
            while True:
                chunk = f.readline()
                if chunk:
                    pending += chunk
                    if not pending.endswith(b"\n"):
                        continue
                    line, pending = pending, b""
                    try:
                        ev = json.loads(line)
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
