"""The remote client: `pypod --remote|--url URI|--connection NAME COMMAND`
runs COMMAND against a pypod (or podman) service through the libpod API,
printing what the local command prints (the same presenters).

The commands it knows are below (HANDLERS); for each, the flags it carries
over (FLAGS).  Any other command, or a flag it would have to drop, is an
error naming it: the remote client never quietly does less than asked."""

from __future__ import annotations

import json
import sys

from ..errors import InvalidArgument


def run(name: str, ns, parser, gopts: dict) -> int:
    from ..remote.client import Client
    from ..remote.connections import destination

    if gopts.get("ssh") not in (None, "golang", "native"):
        raise InvalidArgument(f'invalid --ssh value "{gopts["ssh"]}": golang or native')
    handler = HANDLERS.get(name)
    if handler is None:
        raise InvalidArgument(f'cannot use command "pypod {name.replace("-", " ")}" with the remote pypod client')
    _refuse_unsupported(name, ns, parser)
    return handler(Client(destination(gopts.get("url", ""), gopts.get("connection", ""))), ns)


def _refuse_unsupported(name: str, ns, parser) -> None:
    allowed = FLAGS.get(name, set())
    seen = set()
    for action in parser._option_string_actions.values():
        dest = action.dest
        if dest in seen or dest in allowed or dest == "help" or dest.startswith("global_"):
            continue
        seen.add(dest)
        if getattr(ns, dest, action.default) not in (action.default, [], None):
            flag = max(getattr(action, "option_strings", None) or action.flags, key=len)
            raise InvalidArgument(f"the remote pypod client cannot run {name} with {flag}")


def _filters(items: list[str]) -> dict[str, list[str]]:
    from ..engine.filters import parse_filters

    return parse_filters(items)


# -- what each command does remotely ------------------------------------------------------


def _version(client, a) -> int:
    from ..engine.sysinfo import version_data
    from .system import present_version

    body = client.json("GET", "/version")  # Docker's version body; podman's client reads it so too
    server = {"APIVersion": body.get("APIVersion") or body.get("ApiVersion", ""), "Version": body.get("Version", ""),
              "GoVersion": body.get("GoVersion", ""), "GitCommit": body.get("GitCommit", ""),
              "BuiltTime": body.get("BuildTime") or "Mon Jan  1 00:00:00 0001", "Built": 0,
              "OsArch": f"{body.get('Os', '')}/{body.get('Arch', '')}", "Os": body.get("Os", "")}
    return present_version({"Client": version_data(), "Server": server}, a.format)


def _info(client, a) -> int:
    from ..engine.sysinfo import from_json
    from .system import present_info

    return present_info(from_json(client.json("GET", "/info")), a.format)


def _ps(client, a) -> int:
    from ..proto.humanize import parse_rfc3339
    from .ps import check_ps_args, present

    check_ps_args(a)

    def gather() -> list[dict]:
        last = 1 if a.latest else a.last
        entries = client.json("GET", "/containers/json", {
            "all": a.all, "last": last if last > 0 else None, "size": a.size, "namespace": a.ns,
            "external": a.external, "sync": a.sync, "filters": json.dumps(_filters(a.filter)) if a.filter else None})
        for e in entries:
            e["Created"] = parse_rfc3339(e["Created"]) if isinstance(e["Created"], str) else e["Created"]
        return entries

    return present(gather, a)


def _images(client, a) -> int:
    from .images import present_images

    if a.filter and a.repository:
        raise InvalidArgument("cannot specify an image and a filter(s)")
    filters = _filters(a.filter + ([f"reference={a.repository}"] if a.repository else []))
    summaries = client.json("GET", "/images/json", {"all": a.all, "filters": json.dumps(filters) if filters else None})
    return present_images(summaries, a)


def _inspect(client, a) -> int:
    from ..errors import NoSuchObject
    from .inspect import print_inspect
    from ..remote.client import RemoteError

    kinds = {"container": "/containers/{}/json", "image": "/images/{}/json"}
    if a.type not in ("all", *kinds):
        raise InvalidArgument(f'the remote pypod client inspects containers and images, not {a.type}s')
    if not a.names:
        raise InvalidArgument("no names or ids specified")
    results, errors = [], []
    for name in a.names:
        for kind in ([a.type] if a.type != "all" else list(kinds)):
            try:
                results.append(client.json("GET", kinds[kind].format(_quote(name)), {"size": a.size or None}))
                break
            except RemoteError as e:
                if e.status != 404:
                    raise
                last = str(e) if a.type != "all" else str(NoSuchObject(f'no such object: "{name}"'))
        else:
            errors.append(last)
    return print_inspect(results, errors, a.format, a.type)


def _quote(name: str) -> str:
    import urllib.parse

    return urllib.parse.quote(name, safe="")


def _targets(client, a) -> list[str]:
    if getattr(a, "all", False):
        if a.containers:
            raise InvalidArgument("--all and containers cannot be used together")
        return [e["Id"] for e in client.json("GET", "/containers/json", {"all": True})]
    if not a.containers:
        raise InvalidArgument("you must provide at least one container name or ID")
    return list(a.containers)


def _each(client, a, act) -> int:
    rc = 0
    for target in _targets(client, a):
        try:
            act(target)
            print(target)
        except Exception as e:  # noqa: BLE001 - each target's error is reported, the rest go on
            from ..errors import PypodError

            if not isinstance(e, PypodError):
                raise
            print(f"Error: {e}", file=sys.stderr)
            rc = e.exit_code
    return rc


def _action(path: str, query=lambda a: {}):
    def handler(client, a) -> int:
        return _each(client, a, lambda t: client.request("POST", f"/containers/{_quote(t)}/{path}", query(a)).read())

    return handler


def _rm(client, a) -> int:
    return _each(client, a, lambda t: client.request("DELETE", f"/containers/{_quote(t)}", {
        "force": a.force, "v": a.volumes, "depend": a.depend, "timeout": a.time}).read())


def _logs(client, a) -> int:
    import struct

    if len(a.containers) != 1:
        raise InvalidArgument("the remote pypod client shows the logs of one container at a time")
    resp = client.request("GET", f"/containers/{_quote(a.containers[0])}/logs", {
        "stdout": True, "stderr": True, "follow": a.follow, "tail": a.tail if a.tail >= 0 else "all",
        "since": a.since or None, "until": a.until or None, "timestamps": a.timestamps}, stream=True)
    outs = {1: sys.stdout.buffer, 2: sys.stderr.buffer}
    while True:
        head = resp.read(8)
        if len(head) < 8:
            return 0
        kind, size = head[0], struct.unpack(">I", head[4:])[0]
        out = outs.get(kind, sys.stdout.buffer)
        out.write(resp.read(size))
        if a.follow:
            out.flush()


def _exists(path: str, arg: str):
    def handler(client, a) -> int:
        from ..remote.client import RemoteError

        try:
            client.request("GET", path.format(_quote(getattr(a, arg)))).read()
        except RemoteError as e:
            if e.status == 404:
                return 1
            raise
        return 0

    return handler


def _rmi(client, a) -> int:
    if not a.images:
        raise InvalidArgument("image name or ID must be specified")
    report = client.json("DELETE", "/images/remove", {"images": ",".join(a.images), "force": a.force})
    for line in report.get("Untagged") or []:
        print(f"Untagged: {line}")
    for line in report.get("Deleted") or []:
        print(f"Deleted: {line}")
    return 0


def _tag(client, a) -> int:
    from ..storage.images import split_reference

    for name in a.names:
        repo, tag = split_reference(name)
        client.request("POST", f"/images/{_quote(a.image)}/tag", {"repo": repo, "tag": tag}).read()
    return 0


def _create_remote(client, a) -> str:
    """The container made on the service from the same flags (a
    SpecGenerator); its image pulled there first when it is missing."""
    from ..engine.specgen_export import spec_from_config
    from .runflags import config_from_args

    if a.pull not in ("missing", "always", "never", "newer"):
        raise InvalidArgument(f'invalid pull policy "{a.pull}"')
    cfg = config_from_args(a)
    if cfg.rootfs or not cfg.image:
        raise InvalidArgument("the remote pypod client creates containers from images only")
    resp = client.request("POST", "/images/pull", {"reference": cfg.image, "policy": a.pull, "quiet": True},
                          stream=True)
    for line in resp:  # libpod's pull report: progress lines, then the result or an error
        report = json.loads(line) if line.strip() else {}
        if report.get("error"):
            raise InvalidArgument(report["error"])
    spec = spec_from_config(cfg)
    spec.pop("containerCreateCommand", None)
    if a.replace and cfg.name:
        from ..remote.client import RemoteError

        try:
            client.request("DELETE", f"/containers/{_quote(cfg.name)}", {"force": True}).read()
        except RemoteError as e:
            if e.status != 404:
                raise
    return client.json("POST", "/containers/create", body=spec)["Id"]


def _create(client, a) -> int:
    print(_create_remote(client, a))
    return 0


def _run(client, a) -> int:
    if not a.detach:
        raise InvalidArgument("the remote pypod client runs containers detached only: add -d")
    cid = _create_remote(client, a)
    client.request("POST", f"/containers/{cid}/start").read()
    print(cid)
    return 0


HANDLERS = {
    "version": _version, "info": _info, "ps": _ps, "images": _images, "inspect": _inspect,
    "start": _action("start"), "stop": _action("stop", lambda a: {"timeout": a.time}),
    "restart": _action("restart", lambda a: {"t": a.time}), "kill": _action("kill", lambda a: {"signal": a.signal}),
    "pause": _action("pause"), "unpause": _action("unpause"), "rm": _rm, "logs": _logs,
    "container-exists": _exists("/containers/{}/exists", "container"), "image-exists": _exists("/images/{}/exists", "image"),
    "rmi": _rmi, "tag": _tag, "create": _create, "run": _run,
}

#: run/create flags a SpecGenerator carries as the service reads it
_SPEC_FLAGS = {"name", "env", "env_file", "label", "workdir", "user", "hostname", "tty", "interactive", "rm",
               "privileged", "read_only", "cap_add", "cap_drop", "entrypoint", "stop_signal", "stop_timeout",
               "pull", "quiet", "replace"}

#: the flags each command carries to the service (any other set is refused)
FLAGS = {
    "version": {"format"}, "info": {"format"},
    "ps": {"all", "external", "filter", "format", "last", "latest", "no_trunc", "noheading", "ns", "quiet", "size",
           "sort", "sync", "watch"},
    "images": {"all", "digests", "filter", "format", "history", "no_trunc", "noheading", "quiet", "sort"},
    "inspect": {"format", "type", "size"},
    "start": {"all"}, "stop": {"time", "all"}, "restart": {"time", "all"}, "kill": {"signal", "all"},
    "pause": {"all"}, "unpause": {"all"}, "rm": {"force", "time", "volumes", "depend", "all"},
    "logs": {"follow", "tail", "since", "until", "timestamps"}, "rmi": {"force"},
    "create": _SPEC_FLAGS, "run": _SPEC_FLAGS | {"detach"},
}
