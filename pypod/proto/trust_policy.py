"""containers/image's trust policy (policy.json) as `image trust show` and
`image trust set` read and write it: pure functions over the parsed JSON.

pypod keeps the file in podman's format so both engines share it; pypod's
own pull does not enforce it (see the README).
"""

from __future__ import annotations

import re

from ..errors import InvalidArgument

#: what `set --type` takes and the policy requirement each becomes
SET_TYPES = ("accept", "reject", "signedBy", "sigstoreSigned")
_POLICY_TYPE = {"accept": "insecureAcceptAnything", "reject": "reject", "signedBy": "signedBy",
                "sigstoreSigned": "sigstoreSigned"}
#: how `show` names a requirement's type
_SHOWN_TYPE = {"insecureAcceptAnything": "accept", "reject": "reject", "signedBy": "signed",
               "sigstoreSigned": "sigstoreSigned"}


def rows(policy: dict) -> list[dict]:
    """One row per requirement: the default's first, then each transport's
    scopes in the file's order (podman's `image trust show`)."""
    out = []
    for req in policy.get("default") or []:
        out.append(_row("all", "* (default)", "default", req))
    for transport, scopes in (policy.get("transports") or {}).items():
        shown = "repository" if transport == "docker" else transport
        for scope, reqs in (scopes or {}).items():
            for req in reqs or []:
                out.append(_row(shown, scope, scope, req))
    return out


def _row(transport: str, name: str, repo_name: str, req: dict) -> dict:
    kind = req.get("type", "") if isinstance(req, dict) else ""
    return {"transport": transport, "name": name, "repo_name": repo_name, "type": _SHOWN_TYPE.get(kind, kind)}


_SCOPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-:/@]*$")


def with_trust(policy: dict, scope: str, kind: str, keys: list[str]) -> dict:
    """policy with scope's requirements replaced by one trust of kind
    ("default" for the default); checked in podman's words."""
    if kind not in SET_TYPES:
        raise InvalidArgument(f"invalid choice: {kind} (choose from {', '.join(repr(t) for t in SET_TYPES)})")
    if kind in ("signedBy", "sigstoreSigned"):
        if not keys:
            raise InvalidArgument(f"at least one public key must be defined for type '{kind}'")
    elif keys:
        raise InvalidArgument(f"{len(keys)} public keys unexpectedly provided for trust type {kind}")
    if scope != "default" and not _SCOPE.match(scope):
        bad = next((c for c in scope if not (c.isalnum() or c in "._-:/@")), scope[:1])
        raise InvalidArgument(f'invalid image uri: {scope}: parse "http://{scope}": invalid character "{bad}" in host name')
    if kind == "signedBy":
        reqs = [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": k} for k in keys]
    elif kind == "sigstoreSigned":
        reqs = [{"type": "sigstoreSigned", "keyPath": k} for k in keys]
    else:
        reqs = [{"type": _POLICY_TYPE[kind]}]
    out = dict(policy)
    if scope == "default":
        out["default"] = reqs
    else:
        transports = dict(out.get("transports") or {})
        docker = dict(transports.get("docker") or {})
        docker[scope] = reqs
        transports["docker"] = docker
        out["transports"] = transports
    return out
