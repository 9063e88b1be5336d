"""Go's text/tabwriter with podman's table settings (minimum width 12,
padding 2): the layout of every table podman prints.  Apart from the
template engine, so a default table costs no template."""

from __future__ import annotations


def tabwrite(text: str, minwidth: int = 12, padding: int = 2) -> str:
    """Elastic tabstops as Go's text/tabwriter lays them out (podman's table settings).

    A tab ends a cell; a column's width is set by the run of adjacent lines
    that have a cell in it, so a line without tabs breaks the alignment.
    """
    lines = [ln.split("\t") for ln in text.split("\n")]
    out = []
    widths = []

    def write_lines(a, b):
        for ln in lines[a:b]:
            parts = []
            for j, cell in enumerate(ln):
                if j < len(ln) - 1 and j < len(widths):
                    parts.append(cell + " " * (widths[j] - len(cell)))
                else:
                    parts.append(cell)
            out.append("".join(parts))

    def fmt(line0, line1):
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                w = len(lines[this][column]) + padding
                if w > width:
                    width = w
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    import sys
    limit = sys.getrecursionlimit()
    depth = max(len(ln) for ln in lines) + 50
    if depth > limit:
        sys.setrecursionlimit(depth)
    fmt(0, len(lines))
    return "\n".join(out)
