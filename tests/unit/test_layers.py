"""The folders are the architecture: inner layers never import outer ones,
and the front doors (CLI, REST service) never import each other, except the
CLI's `system service` command, which starts the service."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "pypod"

#: package -> rank; a module may import its own package or lower ranks only
RANK = {
    "proto": 0, "record": 0, "errors": 0, "failpoints": 0, "trace": 0, "private": 0,
    "config": 1, "containers_conf": 1, "sqlitedb": 1, "diag": 1, "rootless": 1,
    "oci": 2, "storage": 2, "registry": 3, "network": 3, "remote": 3,
    # specgen fills the engine's configs and the engine reuses its parsers
    "engine": 4, "specgen": 4,
    # the builder drives the engine (containers, images) for the front doors
    "build": 4,
    "api": 5, "cli": 5, "__main__": 6,
}
FRONT_DOORS = {"api", "cli"}
#: (importing module, imported module) pairs that are allowed across the rule
ALLOWED = {
    ("pypod.cli.system", "pypod.api.service"),  # `pypod system service`
    ("pypod.proto.jsonshape", "pypod.specgen.numbers"),  # Go's integer limits, pure
}


def _imports(path: Path) -> list[tuple[int, str]]:
    rel = path.relative_to(PKG.parent).with_suffix("")
    here = list(rel.parts) if path.name != "__init__.py" else list(rel.parts[:-1]) + ["__init__"]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[:-node.level] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            if node.module:
                found.append((node.lineno, mod))
            else:
                found += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
    return found


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "pypod" else None


def test_no_import_reaches_outward():
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        me = ".".join(p for p in rel.parts if p != "__init__")
        mine = _package(me)
        if mine is None:
            continue
        for line, target in _imports(path):
            theirs = _package(target)
            if theirs is None or theirs == mine or theirs not in RANK:
                continue
            assert mine in RANK, f"{me}: package {mine!r} has no rank in this test; give it one"
            outward = RANK[theirs] > RANK[mine] or {mine, theirs} == FRONT_DOORS
            if outward and not any(me == a and target.startswith(b) for a, b in ALLOWED):
                bad.append(f"{path.relative_to(PKG.parent)}:{line} imports {target}")
    assert not bad, "imports that reach outward:\n" + "\n".join(bad)
