"""pod create/start/stop/restart/kill/pause/unpause/rm/ps/inspect/exists/top/
prune/stats/logs."""

from __future__ import annotations

import json
import os
import sys
import time

from ..errors import InvalidArgument, NoSuchPod, PypodError

#: pod create and pod clone take -h for --hostname, as podman does
OWN_HELP = ("pod_create", "pod_clone")


# -- create -------------------------------------------------------------------------


def add_pod_create_args(p) -> None:
    from .netflags import add_network_flags

    p.add_argument("-n", "--name", default="", help="assign a name to the pod")
    p.add_argument("-h", "--hostname", default="", help="set the pod's hostname")
    p.add_argument("-l", "--label", action="append", default=[], help="set metadata on the pod")
    p.add_argument("--label-file", action="append", default=[], help="read in a line delimited file of labels")
    p.add_argument("--share", default=None, help="namespaces to share: ipc,net,uts,pid,cgroup or none (+pid adds)")
    p.add_argument("--infra", default="true", help="create an infra container for the pod (default true)")
    p.add_argument("--infra-command", default="", help="the command the infra container runs")
    p.add_argument("--infra-image", default="", help="an image for the infra container instead of pypod's catatonit")
    p.add_argument("--infra-name", default="", help="the name of the infra container")
    p.add_argument("--exit-policy", default="continue", choices=("continue", "stop"), help="what to do when the last container exits")
    p.add_argument("--pod-id-file", default="", help="write the pod ID to this file")
    p.add_argument("--replace", action="store_true", help="replace an existing pod of the same name")
    p.add_argument("--help", action="help", help="show this help message and exit")
    add_network_flags(p, pod=True)
    add_pod_settings_flags(p)
    p.add_argument("pod_name", nargs="?", default="", metavar="NAME")


def add_pod_settings_flags(p, clone: bool = False) -> None:
    """The pod cgroup's limits and what the infra container gets (shared by
    pod create and pod clone, which has no --share-parent)."""
    from .resourceflags import POD, add_resource_flags
    from .runflags import POD_ISOLATION, add_isolation_flags

    g = p.add_argument_group("the pod's cgroup")
    add_resource_flags(g, POD)
    g.add_argument("--cgroup-parent", default="", metavar="PATH", help="cgroup to create the pod's cgroup under")
    if not clone:
        g.add_argument("--share-parent", default="true", metavar="BOOL",
                       help="put the containers' cgroups under the pod's (default true)")
    g = p.add_argument_group("the infra container (and, for volumes and devices, the pod's containers)")
    add_isolation_flags(g, POD_ISOLATION)
    g.add_argument("--shm-size", default="", metavar="SIZE", help="size of the pod's /dev/shm (default 64m)")
    g.add_argument("-v", "--volume", action="append", default=[], metavar="[SRC:]DEST[:OPTS]",
                   help="a bind mount or volume every container of the pod gets")
    g.add_argument("--volumes-from", action="append", default=[], metavar="CTR[:ro|rw]",
                   help="mount another container's volumes in every container of the pod")
    g.add_argument("--infra-conmon-pidfile", default="", metavar="FILE", help="write the infra container's conmon PID here")


def pod_settings(a):
    """(the pod cgroup's Resources, the infra container's template) from the
    flags add_pod_settings_flags declares."""
    from ..engine.container import ContainerConfig
    from ..engine.resources import Resources
    from ..specgen import resources as rs
    from ..specgen.volumes import parse_volume, parse_volumes_from
    from .resourceflags import POD, resource_changes
    from .runflags import apply_isolation_flags, parse_bool

    r = Resources()
    for key, value in resource_changes(a, POD).items():
        setattr(r, key, value)
    r.cgroup_parent = a.cgroup_parent
    rs.finish(r, swap_given=a.memory_swap is not None)
    infra = ContainerConfig()
    apply_isolation_flags(infra, a)
    if a.shm_size:
        infra.resources.shm_size = _shm_size(a.shm_size)
    infra.mounts = [parse_volume(v) for v in a.volume]
    for spec in a.volumes_from:
        parse_volumes_from(spec)
    infra.fs.volumes_from = list(a.volumes_from)
    share_parent = parse_bool(a.share_parent, "--share-parent")
    conmon_pidfile = os.path.abspath(a.infra_conmon_pidfile) if a.infra_conmon_pidfile else ""
    return r, infra, share_parent, conmon_pidfile


def cmd_pod_create(engine, a) -> int:
    from ..engine.container import ContainerConfig
    from ..engine.pods import DEFAULT_SHARE, PodConfig, parse_share
    from .netflags import apply_network_flags

    labels = _labels(a)
    if a.name and a.pod_name and a.name != a.pod_name:
        raise InvalidArgument("cannot specify both --name and a positional name")
    name = a.name or a.pod_name
    infra = a.infra.lower() not in ("false", "0", "no")
    resources, template, share_parent, conmon_pidfile = pod_settings(a)
    holder = ContainerConfig()
    apply_network_flags(holder, a)
    pc = PodConfig(name=name, labels=labels, hostname=a.hostname, infra=infra,
                   resources=resources, cgroup_parent=resources.cgroup_parent, share_parent=share_parent,
                   infra_conmon_pidfile=conmon_pidfile,
                   share=parse_share(a.share) if a.share is not None else list(DEFAULT_SHARE),
                   infra_command=a.infra_command.split() if a.infra_command else [],
                   infra_image=a.infra_image, infra_name=a.infra_name, exit_policy=a.exit_policy,
                   create_command=["pypod", *sys.argv[1:]])
    if a.replace and name:
        try:
            engine.pods.get(name).remove(force=True)
        except NoSuchPod:
            pass
    pod = engine.pods.create(pc, holder.network, holder.networking, template)
    if a.pod_id_file:
        with open(a.pod_id_file, "w") as f:
            f.write(pod.id)
    print(pod.id)
    return 0


def _labels(a) -> dict[str, str]:
    labels = {}
    for path in a.label_file:
        try:
            lines = open(path).read().splitlines()
        except OSError as e:
            raise InvalidArgument(f"reading label file {path}: {e.strerror}") from None
        for line in lines:
            if line.strip() and not line.startswith("#"):
                k, _, v = line.partition("=")
                labels[k.strip()] = v
    for item in a.label:
        k, _, v = item.partition("=")
        labels[k] = v
    return labels


# -- clone ----------------------------------------------------------------------------


def add_pod_clone_args(p) -> None:
    p.add_argument("-n", "--name", default="", help="the new pod's name (default: the original's with -clone)")
    p.add_argument("-h", "--hostname", default=None, help="the new pod's hostname")
    p.add_argument("-l", "--label", action="append", default=[], help="add metadata to the new pod")
    p.add_argument("--label-file", action="append", default=[], help="read in a line delimited file of labels")
    p.add_argument("--infra-command", default=None, help="the command the new infra container runs")
    p.add_argument("--infra-name", default="", help="the name of the new infra container")
    p.add_argument("--destroy", action="store_true", help="remove the original pod (and its containers) afterwards")
    p.add_argument("--start", action="store_true", help="start the new pod")
    p.add_argument("--help", action="help", help="show this help message and exit")
    add_pod_settings_flags(p, clone=True)
    p.add_argument("pod", metavar="POD")
    p.add_argument("new_name", nargs="?", default="", metavar="NAME")


def cmd_pod_clone(engine, a) -> int:
    """A copy of the pod, its infra settings and its containers (podman's
    pod clone), with the flags given changing the copy."""
    from ..engine.container import ContainerConfig
    from ..engine.pods import PodConfig
    from ..engine.update import updated
    from ..record import asdict
    from .clone import clone_name, copied_config
    from .resourceflags import POD, resource_changes

    if a.name and a.new_name and a.name != a.new_name:
        raise InvalidArgument("cannot give the clone two names (--name and NAME)")
    orig = engine.pods.get(a.pod)
    pc = PodConfig.from_dict(asdict(orig.config))
    pc.name = a.name or a.new_name or _free_pod_name(engine, f"{orig.name}-clone")
    pc.id = pc.infra_id = pc.cgroup_path = ""
    pc.create_command = ["pypod", *sys.argv[1:]]
    pc.labels.update(_labels(a))
    if a.hostname is not None:
        pc.hostname = a.hostname
    if a.infra_command is not None:
        pc.infra_command = a.infra_command.split()
    if a.cgroup_parent:
        pc.cgroup_parent = a.cgroup_parent
    pc.resources = updated(orig.config.resources, resource_changes(a, POD))
    pc.infra_conmon_pidfile = os.path.abspath(a.infra_conmon_pidfile) if a.infra_conmon_pidfile else ""
    network, networking, template = "", None, None
    if orig.infra_id:
        infra = engine.container(orig.infra_id)
        pc.infra_name = a.infra_name or clone_name(engine, infra.name)
        template = ContainerConfig.from_dict(infra.config.to_dict())  # pods.create takes the infra settings from it
        network, networking = template.network, template.networking
        _override_infra(template, a)
    members = [c for c in orig.containers() if c.id != orig.infra_id]
    pod = engine.pods.create(pc, network, networking, template)
    made = []
    try:
        for c in members:
            cfg = copied_config(engine, c, clone_name(engine, c.name))
            cfg.pod = pod.id
            made.append(engine.create_container(cfg))
    except BaseException:
        pod.remove(force=True)
        raise
    if a.destroy:
        orig.remove(force=True)
    if a.start:
        for e in pod.start():
            print(f"Error: {e}", file=sys.stderr)
    print(pod.id)
    return 0


def _free_pod_name(engine, base: str) -> str:
    for n in range(0, 10000):
        name = f"{base}{n or ''}"
        try:
            engine.pods.get(name)
        except NoSuchPod:
            return name
    raise InvalidArgument(f"no free pod name for {base}")


def _override_infra(template, a) -> None:
    """The infra flags given replace the original infra's settings (pod clone)."""
    from ..engine.container import ContainerConfig
    from ..specgen.volumes import parse_volume, parse_volumes_from
    from .runflags import apply_isolation_flags

    given = ContainerConfig()
    apply_isolation_flags(given, a)
    devices = given.security.devices if a.device else template.security.devices
    if a.security_opt:
        template.security = given.security
    template.security.devices = devices
    ns, new = template.namespaces, given.namespaces
    for kind in ("pid", "uts", "userns"):
        if getattr(a, kind):
            setattr(ns, kind, getattr(new, kind))
    if a.uidmap or a.gidmap or a.subuidname or a.subgidname:
        ns.uid_map, ns.gid_map = new.uid_map, new.gid_map
    if a.sysctl:
        ns.sysctls = new.sysctls
    if a.shm_size:
        template.resources.shm_size = _shm_size(a.shm_size)
    template.mounts += [parse_volume(v) for v in a.volume]
    for spec in a.volumes_from:
        parse_volumes_from(spec)
    template.fs.volumes_from += list(a.volumes_from)


def _shm_size(text: str) -> int:
    from ..specgen.units import parse_size

    try:
        return parse_size(text)
    except InvalidArgument as e:
        raise InvalidArgument(f"unable to translate --shm-size: {e}") from None


# -- the verbs over pods -------------------------------------------------------------


def _add_targets(p, all_flag: bool = True, ignore: bool = False) -> None:
    if all_flag:
        p.add_argument("-a", "--all", action="store_true", help="act on all pods")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest pod")
    p.add_argument("--pod-id-file", action="append", default=[], help="read the pod ID from the file")
    if ignore:
        p.add_argument("-i", "--ignore", action="store_true", help="ignore errors when a pod does not exist")
    p.add_argument("pods", nargs="*", metavar="POD")


def _targets(engine, a) -> list:
    if getattr(a, "all", False):
        return engine.pods.list()
    if a.latest:
        pods = engine.pods.list()
        if not pods:
            raise NoSuchPod("no pods to act on: no such pod")
        return [max(pods, key=lambda p: p.config.created)]
    refs = list(a.pods)
    for path in a.pod_id_file:
        try:
            refs.append(open(path).read().strip())
        except OSError as e:
            raise InvalidArgument(f"reading pod ID file {path}: {e.strerror}") from None
    if not refs:
        raise InvalidArgument("you must provide at least one pod name or id")
    return refs


def _each(engine, a, action, missing_code: int = 125) -> int:
    rc = 0
    for t in _targets(engine, a):
        try:
            pod = engine.pods.get(t) if isinstance(t, str) else t
            errors = action(pod) or []
            if errors:
                for e in errors:
                    print(f"Error: {e}", file=sys.stderr)
                rc = 125
                continue
            print(pod.id)
        except NoSuchPod as e:
            if getattr(a, "ignore", False):
                continue
            print(f"Error: {e}", file=sys.stderr)
            rc = rc or missing_code
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = 125
    return rc


def add_pod_start_args(p) -> None:
    _add_targets(p)


def cmd_pod_start(engine, a) -> int:
    return _each(engine, a, lambda pod: pod.start())


def add_pod_stop_args(p) -> None:
    _add_targets(p, ignore=True)
    p.add_argument("-t", "--time", type=int, default=None, help="seconds to wait for the containers to stop")


def cmd_pod_stop(engine, a) -> int:
    return _each(engine, a, lambda pod: pod.stop(a.time))


def add_pod_restart_args(p) -> None:
    _add_targets(p)


def cmd_pod_restart(engine, a) -> int:
    return _each(engine, a, lambda pod: pod.stop() + pod.start())


def add_pod_kill_args(p) -> None:
    _add_targets(p)
    p.add_argument("-s", "--signal", default="KILL", help="signal to send to the containers")


def cmd_pod_kill(engine, a) -> int:
    from ..proto.signals import parse_signal

    sig = parse_signal(a.signal)
    return _each(engine, a, lambda pod: pod.kill(sig))


def add_pod_pause_args(p) -> None:
    _add_targets(p)


def cmd_pod_pause(engine, a) -> int:
    return _each(engine, a, lambda pod: pod.pause())


def add_pod_unpause_args(p) -> None:
    _add_targets(p)


def cmd_pod_unpause(engine, a) -> int:
    return _each(engine, a, lambda pod: pod.unpause())


def add_pod_rm_args(p) -> None:
    _add_targets(p, ignore=True)
    p.add_argument("-f", "--force", action="store_true", help="stop running containers and remove them")
    p.add_argument("-t", "--time", type=int, default=None, help="seconds to wait for the containers to stop")


def cmd_pod_rm(engine, a) -> int:
    return _each(engine, a, lambda pod: pod.remove(force=a.force, timeout=a.time), missing_code=1)


def add_pod_exists_args(p) -> None:
    p.add_argument("pod", metavar="POD")


def cmd_pod_exists(engine, a) -> int:
    try:
        engine.pods.get(a.pod)
    except NoSuchPod:
        return 1
    return 0


def add_pod_prune_args(p) -> None:
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")


def cmd_pod_prune(engine, a) -> int:
    from .networks import confirm

    if not a.force and not confirm("WARNING! This will remove all stopped/exited pods..\n"
                                   "Are you sure you want to continue? [y/N] "):
        return 0
    for pod_id in engine.pods.prune():
        print(pod_id)
    return 0


# -- ps / inspect ----------------------------------------------------------------------


def add_pod_ps_args(p) -> None:
    p.add_argument("--ctr-ids", action="store_true", help="display the IDs of the pod's containers")
    p.add_argument("--ctr-names", action="store_true", help="display the names of the pod's containers")
    p.add_argument("--ctr-status", action="store_true", help="display the states of the pod's containers")
    p.add_argument("-f", "--filter", action="append", default=[], help="filter: name=, id=, status=, label=, ctr-names=, ...")
    p.add_argument("--format", default="", help="pretty-print pods: json or a Go template")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest pod")
    p.add_argument("--no-trunc", action="store_true", help="do not truncate pod and container IDs")
    p.add_argument("--noheading", action="store_true", help="do not print headers")
    p.add_argument("--ns", action="store_true", help="display the namespaces of the pod")
    p.add_argument("-q", "--quiet", action="store_true", help="print the numeric IDs of the pods only")
    p.add_argument("--sort", default="created", choices=("created", "id", "name", "number", "status"), help="sort output by")




def cmd_pod_ps(engine, a) -> int:
    from ..engine.pods import pod_entry, pod_matches
    from ..proto.humanize import human_ago

    pods = engine.pods.list()
    all_ctrs = engine.containers()
    rows = []
    for pod in pods:
        ctrs = [c for c in all_ctrs if c.config.pod == pod.id]
        ctrs.sort(key=lambda c: (c.id != pod.infra_id, c.config.created))
        entry = pod_entry(pod, ctrs)
        if a.filter and not pod_matches(pod, entry, ctrs, a.filter):
            continue
        rows.append((pod, ctrs, entry))
    if a.latest and rows:
        rows = [max(rows, key=lambda r: r[0].config.created)]
    key = {"created": lambda r: r[0].config.created, "id": lambda r: r[0].id, "name": lambda r: r[0].name,
           "number": lambda r: len(r[1]), "status": lambda r: r[2]["Status"]}[a.sort]
    rows.sort(key=key, reverse=a.sort == "created")
    if a.quiet:
        for pod, _c, _e in rows:
            print(pod.id if a.no_trunc else pod.id[:12])
        return 0
    if a.format in ("json", "{{json .}}"):
        print(json.dumps([e for _p, _c, e in rows], indent=2))
        return 0
    now = time.time()
    table = []
    for pod, ctrs, e in rows:
        short = (lambda s: s) if a.no_trunc else (lambda s: s[:12])
        table.append({**e, "ID": short(pod.id), "Created": human_ago(now - pod.config.created),
                      "InfraID": short(pod.infra_id), "NumberOfContainers": len(ctrs),
                      "ContainerIds": ",".join(short(c.id) for c in ctrs), "ContainerNames": ",".join(c.name for c in ctrs),
                      "ContainerStatuses": ",".join(x["Status"] for x in e["Containers"]),
                      "Networks": ",".join(e["Networks"]), "Cgroup": e["Cgroup"], "Namespaces": ",".join(pod.share)})
    if a.format:
        from .output import print_template

        print_template(a.format, table, noheading=a.noheading)
        return 0
    cols = [("POD ID", "ID"), ("NAME", "Name"), ("STATUS", "Status"), ("CREATED", "Created"), ("INFRA ID", "InfraID")]
    if a.ctr_ids:
        cols.append(("IDS", "ContainerIds"))
    if a.ctr_names:
        cols.append(("NAMES", "ContainerNames"))
    if a.ctr_status:
        cols.append(("STATUS", "ContainerStatuses"))
    if a.ns:
        cols += [("CGROUP", "Cgroup"), ("NAMESPACES", "Namespaces")]
    if not (a.ctr_ids or a.ctr_names or a.ctr_status):
        cols.append(("# OF CONTAINERS", "NumberOfContainers"))
    from .output import print_table

    print_table(cols, table, noheading=a.noheading)
    return 0


def add_pod_inspect_args(p) -> None:
    p.add_argument("-f", "--format", default="", help="format the output: json or a Go template")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest pod")
    p.add_argument("pods", nargs="*", metavar="POD")


def cmd_pod_inspect(engine, a) -> int:
    if a.latest:
        pods = engine.pods.list()
        if not pods:
            raise NoSuchPod("no pods to inspect: no such pod")
        refs = [max(pods, key=lambda p: p.config.created).id]
    else:
        refs = a.pods
    if not refs:
        raise InvalidArgument("you must provide a pod name or id, or --latest")
    rc, out = 0, []
    for ref in refs:
        try:
            out.append(engine.pods.get(ref).inspect())
        except NoSuchPod:
            print(f"Error: inspecting object: no such pod {ref}", file=sys.stderr)
            rc = 125
    if a.format and a.format not in ("json", "{{json .}}"):
        from .output import print_template

        print_template(a.format, out)
    elif out:
        print(json.dumps(out[0] if len(out) == 1 else out, indent=5))
    return rc


# -- top / stats / logs --------------------------------------------------------------------


def add_pod_top_args(p) -> None:
    import argparse

    p.add_argument("-l", "--latest", action="store_true", help="act on the latest pod")
    p.add_argument("pod", nargs="?", default="", metavar="POD")
    p.add_argument("descriptors", nargs=argparse.REMAINDER, metavar="DESCRIPTORS")


def cmd_pod_top(engine, a) -> int:
    from .output import print_table

    if a.latest:
        pods = engine.pods.list()
        if not pods:
            raise NoSuchPod("no pods: no such pod")
        pod = max(pods, key=lambda p: p.config.created)
    else:
        if not a.pod:
            raise InvalidArgument("you must provide the name or id of a running pod")
        pod = engine.pods.get(a.pod)
    args = list(a.descriptors)
    if args and not args[0].startswith("-"):
        args = ["-o", ",".join(args)]
    titles, rows = pod.top(args or None)
    print_table([(t, str(i)) for i, t in enumerate(titles)], [{str(i): v for i, v in enumerate(r)} for r in rows])
    return 0


def add_pod_stats_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="all pods")
    p.add_argument("--format", default="", help="json or a Go template")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest pod")
    p.add_argument("--no-reset", action="store_true", help="do not clear the screen between updates")
    p.add_argument("--no-stream", action="store_true", help="print one sample and exit")
    p.add_argument("pods", nargs="*", metavar="POD")


def cmd_pod_stats(engine, a) -> int:
    from ..engine.podstats import pod_stats
    from .output import print_table

    previous: dict = {}  # each container's last sample: CPU % is over the time since

    def sample() -> list[dict]:
        if a.pods:
            pods = [engine.pods.get(r) for r in a.pods]
        else:
            pods = engine.pods.list()
            if a.latest and pods:
                pods = [max(pods, key=lambda p: p.config.created)]
        return [row for pod in pods for row in pod_stats(pod, previous)]

    while True:
        rows = sample()
        if a.format in ("json", "{{json .}}"):
            print(json.dumps(rows, indent=4))
        elif a.format:
            from .output import print_template

            print_template(a.format, rows)
        else:
            if not a.no_stream and not a.no_reset and sys.stdout.isatty():
                sys.stdout.write("\033[2J\033[H")
            print_table([("POD", "Pod"), ("CID", "CID"), ("NAME", "Name"), ("CPU %", "CPU"), ("MEM USAGE / LIMIT", "MemUsage"),
                         ("MEM %", "Mem"), ("NET IO", "NetIO"), ("BLOCK IO", "BlockIO"), ("PIDS", "PIDS")], rows)
        sys.stdout.flush()
        if a.no_stream:
            return 0
        time.sleep(1)


def add_pod_logs_args(p) -> None:
    p.add_argument("-c", "--container", default="", help="only this container's logs")
    p.add_argument("-f", "--follow", action="store_true", help="follow log output")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest pod")
    p.add_argument("-n", "--names", action="store_true", help="prefix lines with container names instead of IDs")
    p.add_argument("--since", default="", help="show logs since TIMESTAMP")
    p.add_argument("--until", default="", help="show logs until TIMESTAMP")
    p.add_argument("--tail", type=int, default=-1, help="number of lines to show from the end of each log")
    p.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    p.add_argument("--color", action="store_true", help="accepted for podman's sake; output is not colored")
    p.add_argument("pod", nargs="?", default="", metavar="POD")


def cmd_pod_logs(engine, a) -> int:
    """Every container's log but the infra's, merged in time order, each line
    prefixed with its container's ID (or name)."""
    from ..proto.k8s_log import format_line, parse_rfc3339

    if a.latest:
        pods = engine.pods.list()
        if not pods:
            raise NoSuchPod("no pods: no such pod")
        pod = max(pods, key=lambda p: p.config.created)
    elif a.pod:
        pod = engine.pods.get(a.pod)
    else:
        raise InvalidArgument("you must provide a pod name or id, or --latest")
    ctrs = [c for c in pod.containers() if c.id != pod.infra_id]
    if a.container:
        ctrs = [c for c in ctrs if a.container in (c.id, c.name) or c.id.startswith(a.container)]
        if not ctrs:
            raise InvalidArgument(f"container {a.container} is not in pod {pod.name}")
    out = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
    if a.follow:
        import threading

        lock = threading.Lock()

        def follow(c):
            prefix = (c.name if a.names else c.id[:12]).encode() + b" "
            for rec in c.logs(follow=True, tail=a.tail, since=a.since, until=a.until):
                with lock:
                    f = out.get(rec[1], sys.stdout.buffer)
                    f.write(prefix + format_line(rec, a.timestamps))
                    f.flush()

        threads = [threading.Thread(target=follow, args=(c,), daemon=True) for c in ctrs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return 0
    merged = []
    for c in ctrs:
        prefix = (c.name if a.names else c.id[:12]).encode() + b" "
        for rec in c.logs(tail=a.tail, since=a.since, until=a.until):
            merged.append((parse_rfc3339(rec[0]), prefix, rec))
    merged.sort(key=lambda m: m[0])
    for _t, prefix, rec in merged:
        out.get(rec[1], sys.stdout.buffer).write(prefix + format_line(rec, a.timestamps))
    sys.stdout.flush()
    return 0
