"""`info` and `version`: podman's Info and Version, field for field.

The data is built under Go's field names (what `--format '{{.Host.Arch}}'`
reads); `as_json` renames each field to its JSON name (what `--format
json`, the YAML form and the REST service show).
"""

from __future__ import annotations

import os
import platform

from .. import __version__

API_VERSION = "4.3.1"

#: Go field name -> JSON name, per struct (podman's define.Info and friends)
_JSON_NAMES = {
    "Info": {"Host": "host", "Store": "store", "Registries": "registries", "Plugins": "plugins", "Version": "version"},
    "Host": {"Arch": "arch", "BuildahVersion": "buildahVersion", "CgroupManager": "cgroupManager",
             "CgroupsVersion": "cgroupVersion", "CgroupControllers": "cgroupControllers", "Conmon": "conmon",
             "CPUs": "cpus", "CPUUtilization": "cpuUtilization", "Distribution": "distribution",
             "EventLogger": "eventLogger", "Hostname": "hostname", "IDMappings": "idMappings", "Kernel": "kernel",
             "LogDriver": "logDriver", "MemFree": "memFree", "MemTotal": "memTotal", "NetworkBackend": "networkBackend",
             "OCIRuntime": "ociRuntime", "OS": "os", "RemoteSocket": "remoteSocket", "ServiceIsRemote": "serviceIsRemote",
             "RootlessNetworkCmd": "rootlessNetworkCmd", "Pasta": "pasta",
             "Security": "security", "Slirp4NetNS": "slirp4netns", "SwapFree": "swapFree", "SwapTotal": "swapTotal",
             "Uptime": "uptime", "Linkmode": "linkmode"},
    "Conmon": {"Package": "package", "Path": "path", "Version": "version"},
    "OCIRuntime": {"Name": "name", "Package": "package", "Path": "path", "Version": "version"},
    "Slirp4NetNS": {"Executable": "executable", "Package": "package", "Version": "version"},
    "Pasta": {"Executable": "executable", "Package": "package", "Version": "version"},
    "CPUUtilization": {"UserPercent": "userPercent", "SystemPercent": "systemPercent", "IdlePercent": "idlePercent"},
    "Distribution": {"Distribution": "distribution", "Variant": "variant", "Version": "version", "Codename": "codename"},
    "IDMappings": {"GIDMap": "gidmap", "UIDMap": "uidmap"},
    "RemoteSocket": {"Path": "path", "Exists": "exists"},
    "Security": {"AppArmorEnabled": "apparmorEnabled", "DefaultCapabilities": "capabilities", "Rootless": "rootless",
                 "SECCOMPEnabled": "seccompEnabled", "SECCOMPProfilePath": "seccompProfilePath",
                 "SELinuxEnabled": "selinuxEnabled"},
    "Store": {"ConfigFile": "configFile", "ContainerStore": "containerStore", "GraphDriverName": "graphDriverName",
              "GraphOptions": "graphOptions", "GraphRoot": "graphRoot", "GraphRootAllocated": "graphRootAllocated",
              "GraphRootUsed": "graphRootUsed", "GraphStatus": "graphStatus", "ImageCopyTmpDir": "imageCopyTmpDir",
              "ImageStore": "imageStore", "RunRoot": "runRoot", "VolumePath": "volumePath"},
    "ContainerStore": {"Number": "number", "Paused": "paused", "Running": "running", "Stopped": "stopped"},
    "ImageStore": {"Number": "number"},
    "Plugins": {"Volume": "volume", "Network": "network", "Log": "log", "Authorization": "authorization"},
}
#: fields podman leaves out of JSON when empty
_OMIT_EMPTY = {"remoteSocket", "variant", "codename", "exists"}
#: fields that hold maps (their keys are data, not field names)
_MAPS = {"Registries", "GraphOptions", "GraphStatus"}


def as_json(data: dict, struct: str = "Info") -> dict:
    names = _JSON_NAMES.get(struct, {})
    out = {}
    for key, value in data.items():
        jkey = names.get(key, key)
        if isinstance(value, dict) and key not in _MAPS and key in _JSON_NAMES:
            value = as_json(value, key)
        if jkey in _OMIT_EMPTY and not value:
            continue
        out[jkey] = value
    return out


def from_json(data: dict, struct: str = "Info") -> dict:
    """as_json undone: a service's Info under Go's field names again (for
    the remote client's templates)."""
    names = {j: g for g, j in _JSON_NAMES.get(struct, {}).items()}
    out = {}
    for key, value in data.items():
        gkey = names.get(key, key)
        if isinstance(value, dict) and gkey not in _MAPS and gkey in _JSON_NAMES:
            value = from_json(value, gkey)
        out[gkey] = value
    return out


def version_data(engine=None) -> dict:
    """podman's define.Version for this pypod (its JSON names are its Go names)."""
    return {"APIVersion": API_VERSION, "Version": __version__, "GoVersion": "python" + platform.python_version(),
            "GitCommit": "", "BuiltTime": "Thu Jan  1 00:00:00 1970", "Built": 0, "OsArch": f"linux/{_goarch()}",
            "Os": "linux"}


def _goarch() -> str:
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
            "s390x": "s390x"}.get(m, m)


def _os_release() -> dict:
    out = {}
    try:
        with open("/etc/os-release") as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                out[k] = v.strip('"')
    except OSError:
        pass
    return out


def _meminfo() -> dict[str, int]:
    out = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                k, _, rest = line.partition(":")
                out[k] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return out


def _uptime() -> str:
    try:
        with open("/proc/uptime") as f:
            secs = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return ""
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}h {int(m)}m {s:.2f}s (Approximately {secs / 86400:.2f} days)"


def _cpu_usage() -> dict:
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return {"UserPercent": 0.0, "SystemPercent": 0.0, "IdlePercent": 0.0}
    total = sum(fields) or 1
    user, _nice, system, idle = fields[:4]
    return {"UserPercent": round(100 * user / total, 2), "SystemPercent": round(100 * system / total, 2),
            "IdlePercent": round(100 * idle / total, 2)}


def _cgroup_controllers(v2: bool) -> list[str]:
    if v2:
        try:
            with open("/sys/fs/cgroup/cgroup.controllers") as f:
                return f.read().split()
        except OSError:
            return []
    out = []
    try:
        with open("/proc/cgroups") as f:
            for line in f:
                if not line.startswith("#") and line.split()[3:4] == ["1"]:
                    out.append(line.split()[0])
    except OSError:
        pass
    return out


def _capabilities() -> str:
    from ..proto.oci_spec import DEFAULT_CAPS

    return ",".join(sorted(DEFAULT_CAPS))


def info(engine) -> dict:
    """podman's define.Info, under Go's field names."""
    from .. import rootless
    from .container import Status

    cfg = engine.config
    conmon, rt = engine.runtime.info()
    ctrs = engine.containers()
    count = {s: sum(1 for c in ctrs if c.state.status == s) for s in Status}
    uname = platform.uname()
    v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    mem = _meminfo()
    rel = _os_release()
    try:
        st = os.statvfs(cfg.root)
        allocated, used = st.f_blocks * st.f_frsize, (st.f_blocks - st.f_bfree) * st.f_frsize
    except OSError:
        allocated = used = 0
    driver = engine.storage_driver
    seccomp = "/usr/share/containers/seccomp.json"
    slirp = _slirp4netns()
    host = {
        "Arch": _goarch(),
        "BuildahVersion": "",
        "CgroupManager": cfg.cgroup_manager,
        "CgroupsVersion": "v2" if v2 else "v1",
        "CgroupControllers": _cgroup_controllers(v2),
        "Conmon": {"Package": conmon.package, "Path": conmon.path, "Version": conmon.version},
        "CPUs": os.cpu_count() or 0,
        "CPUUtilization": _cpu_usage(),
        "Distribution": {"Distribution": rel.get("ID", ""), "Version": rel.get("VERSION_ID", ""),
                         "Codename": rel.get("VERSION_CODENAME", ""), "Variant": rel.get("VARIANT_ID", "")},
        "EventLogger": cfg.events_backend,
        "Hostname": uname.node,
        "IDMappings": _id_mappings(),
        "Kernel": uname.release,
        "LogDriver": "k8s-file",
        "MemFree": mem.get("MemFree", 0),
        "MemTotal": mem.get("MemTotal", 0),
        "NetworkBackend": "netavark",
        "OCIRuntime": {"Name": rt.name, "Package": rt.package, "Path": rt.path, "Version": rt.version},
        "OS": "linux",
        "RemoteSocket": {"Path": os.path.join(cfg.runroot, "pypod.sock"),
                         "Exists": os.path.exists(os.path.join(cfg.runroot, "pypod.sock"))},
        "ServiceIsRemote": False,
        "Security": {"AppArmorEnabled": os.path.exists("/sys/kernel/security/apparmor"),
                     "DefaultCapabilities": _capabilities(), "Rootless": rootless.is_rootless(),
                     "SECCOMPEnabled": os.path.exists(seccomp), "SECCOMPProfilePath": seccomp if os.path.exists(seccomp) else "",
                     "SELinuxEnabled": os.path.exists("/sys/fs/selinux/enforce")},
        "Slirp4NetNS": slirp,
        "Pasta": _helper_info("pasta"),
        "RootlessNetworkCmd": cfg.network.default_rootless_network_cmd if rootless.is_rootless() else "",
        "SwapFree": mem.get("SwapFree", 0),
        "SwapTotal": mem.get("SwapTotal", 0),
        "Uptime": _uptime(),
        "Linkmode": "dynamic",
    }
    store = {
        "ConfigFile": _config_file(),
        "ContainerStore": {"Number": len(ctrs), "Paused": count[Status.PAUSED], "Running": count[Status.RUNNING],
                           "Stopped": len(ctrs) - count[Status.RUNNING] - count[Status.PAUSED]},
        "GraphDriverName": driver,
        "GraphOptions": _graph_options(engine),
        "GraphRoot": cfg.root,
        "GraphRootAllocated": allocated,
        "GraphRootUsed": used,
        "GraphStatus": {"Backing Filesystem": _fs_type(cfg.root), "Native Overlay Diff": "true" if driver == "overlay" and not _mount_program(engine) else "false",
                        "Supports d_type": "true", "Using metacopy": "false"},
        "ImageCopyTmpDir": os.environ.get("TMPDIR", "/var/tmp"),
        "ImageStore": {"Number": len(engine.images.list())},
        "RunRoot": cfg.runroot,
        "VolumePath": cfg.volumes_dir,
    }
    return {"Host": host, "Store": store, "Registries": _registries(engine),
            "Plugins": {"Volume": ["local"], "Network": ["bridge"], "Log": ["k8s-file", "none", "passthrough", "journald"],
                        "Authorization": None},
            "Version": version_data()}


def _registries(engine) -> dict:
    """podman's info.registries: the unqualified-search registries under
    "search" (clients such as Cockpit's page search those), each
    [[registry]] under its prefix.  A registries.conf that does not load
    leaves it empty: info is what one runs to find out what is wrong."""
    from ..errors import InvalidArgument
    from ..registry.operations import registries_conf

    try:
        conf = registries_conf(engine)
    except InvalidArgument:
        return {}
    out: dict = {"search": list(conf.search)} if conf.search else {}
    for r in conf.registries:
        out[r.prefix] = {"Prefix": r.prefix, "Location": r.location, "Insecure": r.insecure, "PullFromMirror": "",
                         "Mirrors": [{"Location": m.location, "Insecure": m.insecure,
                                      "PullFromMirror": m.pull_from_mirror} for m in r.mirrors] or None,
                         "Blocked": r.blocked, "MirrorByDigestOnly": r.mirror_by_digest_only}
    return out


def _config_file() -> str:
    from ..config import DEFAULT_CONFIG_FILE

    path = os.environ.get("PYPOD_CONFIG") or DEFAULT_CONFIG_FILE
    return path if os.path.exists(path) else ""


def _mount_program(engine) -> str:
    return getattr(engine.container_storage, "mount_program", "") if engine.storage_driver == "overlay" else ""


def _graph_options(engine) -> dict:
    """The storage options, and a FUSE overlay as podman shows it (with its program's facts)."""
    out: dict = {o.partition("=")[0]: o.partition("=")[2] for o in engine.config.storage_opts}
    program = _mount_program(engine)
    if program:
        out["overlay.mount_program"] = _helper_info(os.path.basename(program)) | {"Executable": program}
    return out


def _id_mappings() -> dict:
    """The user namespace's maps, for a rootless engine (podman leaves them null as root)."""
    from .. import rootless

    if not rootless.is_rootless():
        return {"GIDMap": None, "UIDMap": None}
    maps = rootless.current_mappings()
    return {"GIDMap": maps["gidmap"], "UIDMap": maps["uidmap"]}


def _slirp4netns() -> dict:
    return _helper_info("slirp4netns")


def _helper_info(name: str) -> dict:
    import shutil

    from ..oci.conmon import _package_of, _version_of

    path = shutil.which(name) or ""
    if not path:
        return {"Executable": "", "Package": "", "Version": ""}
    return {"Executable": path, "Package": _package_of(path), "Version": _version_of(path)}


def _fs_type(path: str) -> str:
    """The filesystem the root is on, as /proc/self/mounts names it (longest mount prefix)."""
    best, kind = "", ""
    try:
        real = os.path.realpath(path)
        with open("/proc/self/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 2 and (real == parts[1] or real.startswith(parts[1].rstrip("/") + "/")) and len(parts[1]) >= len(best):
                    best, kind = parts[1], parts[2]
    except OSError:
        pass
    return {"ext4": "extfs", "ext3": "extfs", "ext2": "extfs"}.get(kind, kind)
