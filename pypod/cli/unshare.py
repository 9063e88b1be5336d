"""`pypod unshare`: run a command in the user namespace rootless pypod uses
(the user's own ID as root, then the ranges /etc/subuid and /etc/subgid
give it), to look at or fix files its containers own.  main() has already
joined that namespace (pypod/rootless.py); as root there is nothing to
unshare, and podman says so."""

from __future__ import annotations

import os

from ..errors import InvalidArgument


def add_unshare_args(p) -> None:
    import argparse

    p.add_argument("--rootless-netns", action="store_true",
                   help="also join the rootless network namespace (where rootless containers' networks live)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command (default: $SHELL)")


def cmd_unshare(engine, a) -> int:
    from .. import rootless

    if not rootless.is_rootless():
        raise InvalidArgument("please use unshare with rootless")
    if a.rootless_netns:
        from ..network import rootless_netns

        rootless_netns.join(engine.config)
    command = list(a.command) or [os.environ.get("SHELL", "/bin/sh")]
    env = {**os.environ, "CONTAINERS_GRAPHROOT": engine.config.root, "CONTAINERS_RUNROOT": engine.config.runroot}
    try:
        os.execvpe(command[0], command, env)
    except OSError as e:
        raise InvalidArgument(f"{command[0]}: {(e.strerror or str(e)).lower()}") from None
