"""`image trust show` and `image trust set`: the image trust policy
(/etc/containers/policy.json, podman's file and format; proto/trust_policy.py)."""

from __future__ import annotations

import json
import os
import sys

from ..errors import InvalidArgument

DEFAULT_POLICY = "/etc/containers/policy.json"


def add_image_trust_args(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="{set,show}")
    sub.required = True
    show = sub.add_parser("show", help="show the trust policy")
    show.add_argument("-j", "--json", action="store_true", help="output as JSON")
    show.add_argument("-n", "--noheading", action="store_true", help="do not print column headings")
    show.add_argument("--raw", action="store_true", help="print the policy file as it is")
    show.add_argument("--policypath", default=DEFAULT_POLICY, help=argparse_hidden())
    show.add_argument("registry", nargs="?", default="", metavar="REGISTRY")
    st = sub.add_parser("set", help="set the trust of a registry or repository (or the default)")
    st.add_argument("-t", "--type", default="signedBy", metavar="TYPE",
                    help="signedBy (default), accept, reject or sigstoreSigned")
    st.add_argument("-f", "--pubkeysfile", action="append", default=[], metavar="FILE",
                    help="a public key file to trust for the registry (repeatable; comma-separated too)")
    st.add_argument("--policypath", default=DEFAULT_POLICY, help=argparse_hidden())
    st.add_argument("registry", nargs="*", metavar="REGISTRY")


def argparse_hidden() -> str:
    from .args import SUPPRESS

    return SUPPRESS


def _read(path: str) -> tuple[str, dict]:
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise InvalidArgument(f"open {path}: {e.strerror.lower()}") from None
    try:
        policy = json.loads(text)
    except ValueError as e:
        raise InvalidArgument(f"invalid policy in {path}: {e}") from None
    if not isinstance(policy, dict):
        raise InvalidArgument(f"invalid policy in {path}: not a JSON object")
    return text, policy


def cmd_image_trust(engine, a) -> int:
    from ..proto import trust_policy

    if a.action == "show":
        text, policy = _read(a.policypath)
        if a.raw:
            sys.stdout.write(text)
            return 0
        rows = trust_policy.rows(policy)
        if a.json:
            print(json.dumps(rows, indent=2))
            return 0
        from .output import print_table

        table = [{"transport": r["transport"], "name": r["repo_name"], "type": r["type"], "id": "", "store": ""} for r in rows]
        print_table([("TRANSPORT", "transport"), ("NAME", "name"), ("TYPE", "type"), ("ID", "id"), ("STORE", "store")],
                    table, noheading=a.noheading)
        return 0
    if len(a.registry) != 1:
        raise InvalidArgument(f"accepts 1 arg(s), received {len(a.registry)}")
    keys = [os.path.abspath(k) for item in a.pubkeysfile for k in item.split(",") if k]
    if os.path.exists(a.policypath):
        _text, policy = _read(a.policypath)
    else:
        policy = {"default": [{"type": "insecureAcceptAnything"}]}
    new = trust_policy.with_trust(policy, a.registry[0], a.type, keys)
    # a new file renamed over the old one: a reader never sees half a policy
    tmp = f"{a.policypath}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(new, indent=4))
    os.chmod(tmp, 0o644)
    os.replace(tmp, a.policypath)
    return 0
