"""podman's pull and push progress, rendered from registry Events.

On a terminal each blob gets a live bar, redrawn in place; off a terminal one
line per step. The CLI writes it to stderr and libpod's REST pull and push
stream the same lines as their report, so it lives below both front doors.
"""

from __future__ import annotations

import sys
import time


def _short(digest: str, n: int) -> str:
    return digest.split(":", 1)[-1][:n]


def _size(n: float) -> str:
    """podman's bar counters: 854.0b, 3.2MiB."""
    for unit in ("b", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            break
        n /= 1024
    return f"{n:.1f}{unit}"


class ProgressDisplay:
    """Renders registry Events the way podman does on stderr."""

    def __init__(self, out=None, tty: bool | None = None):
        self.out = out or sys.stderr
        self.tty = self.out.isatty() if tty is None else tty
        #: blob lines being drawn (digest -> text), in order
        self.lines: dict[str, str] = {}
        self.drawn = 0
        self.last_draw = 0.0

    def __call__(self, ev) -> None:
        from ..registry.pull import Event

        assert isinstance(ev, Event)
        if ev.kind == "trying":
            self._static(f"Trying to pull {ev.text}...")
        elif ev.kind == "note":
            self._static(ev.text)
        elif ev.kind == "signatures":
            self._static("Getting image source signatures")
        elif ev.kind in ("blob", "config"):
            self._blob(ev)
        elif ev.kind == "manifest":
            self._flush_bars()
            self._static("Writing manifest to image destination")
        elif ev.kind == "storing":
            self._static("Storing signatures")

    def _static(self, text: str) -> None:
        self._flush_bars()
        self.out.write(text + "\n")
        self.out.flush()

    def _blob(self, ev) -> None:
        label = "blob" if ev.kind == "blob" else "config"
        if not self.tty:
            if ev.state in ("start", "exists", "mounted") or (ev.kind == "config" and ev.state == "done"):
                if ev.digest not in self.lines:
                    self.lines[ev.digest] = ""
                    self.out.write(f"Copying {label} {ev.digest}\n")
                    self.out.flush()
            return
        short = _short(ev.digest, 12 if ev.kind == "blob" else 10)
        if ev.state in ("exists", "mounted"):
            text = f"Copying {label} {short} skipped: already exists"
        elif ev.state == "done":
            text = f"Copying {label} {short} done"
        else:
            width = 30
            frac = ev.current / ev.total if ev.total else 0.0
            fill = int(frac * width)
            bar = "=" * max(0, fill - 1) + (">" if fill else "") + "-" * (width - max(fill, 1 if fill else 0))
            text = f"Copying {label} {short} [{bar[:width]}] {_size(ev.current)} / {_size(ev.total)}"
        self.lines[ev.digest] = text
        now = time.monotonic()
        if ev.state == "progress" and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        self._draw()

    def _draw(self) -> None:
        w = self.out
        if self.drawn:
            w.write(f"\x1b[{self.drawn}A")
        for text in self.lines.values():
            w.write(f"\r\x1b[K{text}\n")
        self.drawn = len(self.lines)
        w.flush()

    def _flush_bars(self) -> None:
        if self.tty and self.lines:
            self._draw()
        self.lines = {}
        self.drawn = 0
