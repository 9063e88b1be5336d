""".containerignore / .dockerignore: which context paths a build never sees.

Docker's rules: one pattern a line, `#` comments, paths cleaned and taken
relative to the context root; `*` and `?` stay within one path component,
`**` spans any number of them; `!pattern` takes matching paths back; the
last pattern that matches a path decides; a path inside an excluded
directory is excluded too (unless an exception takes it back).  Pure.
"""

from __future__ import annotations

import posixpath
import re


class IgnoreRules:
    def __init__(self, patterns: list[tuple[bool, re.Pattern]]):
        #: (is an exception, regex over the whole relative path)
        self.patterns = patterns
        self.has_exceptions = any(neg for neg, _ in patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def excluded(self, rel: str) -> bool:
        """Is this path (relative to the context root, '/'-separated) left out?"""
        rel = rel.strip("/")
        if not rel or not self.patterns:
            return False
        parts = rel.split("/")
        # a directory's verdict carries to what it holds, unless a later pattern says otherwise
        verdict = False
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            for neg, rx in self.patterns:
                if rx.match(prefix):
                    verdict = not neg
        return verdict

    def may_hold_exceptions(self, rel: str) -> bool:
        """An excluded directory must still be walked when an exception may
        take back something under it."""
        return self.has_exceptions


def parse_ignore(text: str) -> IgnoreRules:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        if neg:
            line = line[1:].strip()
        pat = posixpath.normpath(line).lstrip("/")
        if pat in (".", ""):
            continue
        out.append((neg, re.compile(translate(pat))))
    return IgnoreRules(out)


def translate(pat: str) -> str:
    """A Go filepath.Match pattern (plus `**`) as an anchored regex."""
    rx = []
    i = 0
    while i < len(pat):
        ch = pat[i]
        if ch == "*":
            if pat[i:i + 2] == "**":
                i += 2
                if pat[i:i + 1] == "/":
                    i += 1
                    rx.append("(?:.*/)?")
                else:
                    rx.append(".*")
                continue
            rx.append("[^/]*")
        elif ch == "?":
            rx.append("[^/]")
        elif ch == "[":
            end = pat.find("]", i + 1)
            if end < 0:
                rx.append(re.escape(ch))
            else:
                body = pat[i + 1:end]
                if body.startswith("^") or body.startswith("!"):
                    body = "^" + body[1:]
                rx.append(f"[{body}]")
                i = end
        elif ch == "\\" and i + 1 < len(pat):
            i += 1
            rx.append(re.escape(pat[i]))
        else:
            rx.append(re.escape(ch))
        i += 1
    return "^" + "".join(rx) + "$"
