"""Search: Docker's /v1/search where a registry has it, else the catalog
(/v2/_catalog) filtered by the term, as podman does with a distribution
registry.  --list-tags lists one repository's tags."""

from __future__ import annotations

import json
import urllib.parse

from ..errors import InvalidArgument, RegistryError
from .client import Session, registry_error_text
from .reference import parse
from .shortnames import RegistriesConf


def _split_term(conf: RegistriesConf, term: str) -> list[tuple[str, str]]:
    """(registry, term) pairs: the registry the term names, else every search registry."""
    first, sep, rest = term.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return [(first, rest)]
    if not conf.search:
        raise InvalidArgument(f'no registries to search for "{term}": name one (HOST[:PORT]/TERM) or set '
                              f'unqualified-search-registries in "{conf.path}"')
    return [(h, term) for h in conf.search]


def search(session: Session, conf: RegistriesConf, term: str, limit: int = 0, list_tags: bool = False) -> list[dict]:
    if not term:
        raise InvalidArgument("search requires exactly one argument")
    if list_tags:
        r = parse(term)
        if r.tag or r.digest:
            raise InvalidArgument(f"reference {term!r} must not have a tag for listing tags")
        if r.short:
            raise InvalidArgument(f"reference {term!r} must name its registry for listing tags")
        reg = session.registry(r.domain, conf.insecure(r.domain))
        tags = reg.tags(r.path)
        if limit > 0:
            tags = tags[:limit]
        return [{"Name": r.name, "Tag": t} for t in tags]
    out: list[dict] = []
    for host, q in _split_term(conf, term):
        reg = session.registry(host, conf.insecure(host))
        out += _search_one(reg, host, q, limit)
    return out


def _search_one(reg, host: str, q: str, limit: int) -> list[dict]:
    reg.ping()
    params = urllib.parse.urlencode({"q": q, "n": limit or 25})
    with reg.request("GET", f"/v1/search?{params}", retry=True) as resp:
        body = resp.read(16 << 20)
        status = resp.status
    if status == 200:
        try:
            results = json.loads(body).get("results") or []
        except (ValueError, AttributeError):
            results = []
        out = []
        for r in results:
            name = str(r.get("name", ""))
            out.append(_row(host, name, str(r.get("description") or ""), int(r.get("star_count") or 0),
                            bool(r.get("is_official")), bool(r.get("is_automated"))))
        return out[:limit] if limit > 0 else out
    # No search API (the distribution registry): its catalog, filtered.
    try:
        repos = reg.catalog()
    except RegistryError as e:
        raise RegistryError(f"couldn't search registry {host!r}: {e}") from None
    hits = [r for r in repos if q.lower() in r.lower()] if q else repos
    if limit > 0:
        hits = hits[:limit]
    return [_row(host, r, "", 0, False, False) for r in hits]


def _row(host: str, name: str, description: str, stars: int, official: bool, automated: bool) -> dict:
    return {"Index": host, "Name": f"{host}/{name}", "Description": description, "Stars": stars,
            "Official": "[OK]" if official else "", "Automated": "[OK]" if automated else "", "Tag": ""}


__all__ = ["search", "registry_error_text"]
