"""Tables and Go-template output, shaped like podman's."""

from __future__ import annotations

import sys


def print_table(columns: list[tuple[str, str]], rows: list[dict], noheading: bool = False) -> None:
    """Columns padded to their widest cell plus two spaces (podman's tabwriter)."""
    cells = [[str(r.get(key, "")) for _h, key in columns] for r in rows]
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
