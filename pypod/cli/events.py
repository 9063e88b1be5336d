"""`pypod events`: the event log, past or streamed, filtered and formatted
as podman's `events` prints it."""

from __future__ import annotations

import json

from ..errors import InvalidArgument


def add_events_args(p) -> None:
    p.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="show only matching events: container=, event=, image=, label=, pod=, type=, volume=, network= (repeatable)")
    p.add_argument("--format", default="", help="json, or a Go template over podman's event fields (.ID .Name .Status .Type .Time ...)")
    p.add_argument("--since", default="", metavar="TIME", help="show events since TIME (RFC 3339, unix time, or a duration back from now)")
    p.add_argument("--until", default="", metavar="TIME", help="show events until TIME (RFC 3339, unix time, or a duration)")
    p.add_argument("--stream", default="true", metavar="BOOL",
                   help="keep streaming new events (default true); false prints the past events and exits")
    p.add_argument("--no-trunc", default="true", metavar="BOOL", help="print full IDs (default true)")


def _bool(name: str, text: str) -> bool:
    low = text.lower()
    if low in ("true", "1", "t", "yes", ""):
        return True
    if low in ("false", "0", "f", "no"):
        return False
    raise InvalidArgument(f'invalid argument "{text}" for "{name}" flag: strconv.ParseBool: parsing "{text}": invalid syntax')


def cmd_events(engine, a) -> int:
    from ..engine.events import event_predicate

    stream = _bool("--stream", a.stream)
    no_trunc = _bool("--no-trunc", a.no_trunc)
    filters: dict[str, list[str]] = {}
    for f in a.filter:
        key, sep, value = f.partition("=")
        if not sep:
            raise InvalidArgument(f"{f} is an invalid filter")
        filters.setdefault(key, []).append(value)
    keep = event_predicate(filters)
    since = _time("since", a.since, True)
    until = _time("until", a.until, False)
    # As podman: without --since/--until a stream starts at the present; with
    # --until it stops once that time has passed.
    events = engine.events.read(since_ns=since, until_ns=until, follow=stream,
                                from_end=stream and not (a.since or a.until))
    fmt = a.format
    for ev in events:
        if not keep(ev):
            continue
        print(render(ev, fmt, no_trunc), flush=stream)
    return 0


def _time(name: str, value: str, since: bool) -> int:
    if not value:
        return 0
    from ..proto.k8s_log import parse_time

    try:
        return parse_time(value, since=since)
    except InvalidArgument as e:
        raise InvalidArgument(f"unable to convert {name} time of {value}: {e}") from None


def render(ev: dict, fmt: str, no_trunc: bool = True) -> str:
    from ..engine.events import podman_event
    from ..proto.humanize import GoTime

    pe = podman_event(ev)
    if fmt in ("json", "{{json .}}"):
        out = dict(pe)
        out["Time"] = _rfc3339_nano(pe["Time"])
        return json.dumps(out, separators=(",", ":"), ensure_ascii=False)
    if fmt:
        from ..proto.gotemplate import GoMap, format_items

        row = {"ContainerExitCode": pe.get("ContainerExitCode", 0), "ID": pe.get("ID", ""), "Image": pe.get("Image", ""),
               "Name": pe.get("Name", ""), "Network": pe.get("network", ""), "Status": pe["Status"],
               "Time": GoTime.from_ns(pe["Time"]), "TimeNano": pe["Time"], "Type": pe["Type"],
               "HealthStatus": pe.get("health_status", ""), "PodID": pe.get("PodID", ""),
               "Attributes": GoMap(pe.get("Attributes") or {})}
        row["Details"] = {"ID": row["ID"], "PodID": row["PodID"], "Attributes": row["Attributes"]}
        return format_items(fmt, [row], noheading=True, name="events").rstrip("\n")
    return human(pe, no_trunc)


def human(pe: dict, no_trunc: bool = True) -> str:
    """podman's Event.ToHumanReadable."""
    from ..proto.humanize import GoTime

    when = str(GoTime.from_ns(pe["Time"]))
    eid = pe.get("ID", "")
    if not no_trunc:
        eid = eid[:12]
    kind, status, name, image = pe["Type"], pe["Status"], pe.get("Name", ""), pe.get("Image", "")
    if kind in ("container", "pod"):
        text = f"{when} {kind} {status} {eid} (image={image}, name={name}"
        if pe.get("PodID"):
            text += f", pod_id={pe['PodID']}"
        if pe.get("health_status"):
            text += f", health_status={pe['health_status']}"
        for k, v in sorted((pe.get("Attributes") or {}).items()):
            text += f", {k}={v}"
        return text + ")"
    if kind == "network":
        return f"{when} {kind} {status} {eid} (container={eid}, name={pe.get('network', name)})"
    if kind == "image":
        return f"{when} {kind} {status} {eid} {name}"
    if kind == "system":
        return f"{when} {kind} {status} {name}".rstrip()
    return f"{when} {kind} {status} {name}"


def _rfc3339_nano(ns: int) -> str:
    import time

    secs, frac = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    digits = f"{frac:09d}".rstrip("0")
    return text + (f".{digits}" if digits else "") + "Z"


