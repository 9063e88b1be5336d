"""Tables and Go-template output, shaped like podman's."""

from __future__ import annotations

import sys

#: C0 controls, DEL and C1 controls: what a table cell may not print raw
_CONTROLS = {c: None for c in (*range(0x20), *range(0x7F, 0xA0))}
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def printable(text: str) -> str:
    """A cell as a terminal may show it: a command's newlines, tabs and
    escape sequences are written out (\\n, \\x1b), never sent raw to the
    terminal, where they would break the table or drive the terminal."""
    if not any(ord(c) in _CONTROLS for c in text):
        return text
    return "".join(_NAMED.get(c) or (f"\\x{ord(c):02x}" if ord(c) in _CONTROLS else c) for c in text)


def print_table(columns: list[tuple[str, str]], rows: list[dict], noheading: bool = False) -> None:
    """Columns padded to their widest cell plus two spaces (podman's tabwriter)."""
    cells = [[printable(str(r.get(key, ""))) for _h, key in columns] for r in rows]
    if not noheading:
        cells.insert(0, [h for h, _k in columns])
    if not cells:
        return
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    out = []
    for row in cells:
        parts = [cell.ljust(widths[i] + 2) for i, cell in enumerate(row[:-1])]
        out.append(("".join(parts) + row[-1]).rstrip())
    sys.stdout.write("\n".join(out) + "\n")


def print_template(fmt: str, rows: list[dict], noheading: bool = False) -> None:
    from ..proto.gotemplate import format_items

    text = format_items(fmt, rows, noheading=noheading)
    if text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
