"""Seccomp profiles (containers-common's seccomp.json format) turned into
the OCI spec's `linux.seccomp`.

A profile is conditional: a rule may apply only on some architectures,
only when the container holds (or lacks) some capabilities, or only from
some kernel version on.  Translating it resolves those conditions for one
container, as podman does when it writes the spec: a rule whose `includes`
are not all met, or one of whose `excludes` is, is left out.

Pure: the profile, the container's bounding set, the architecture and the
kernel version are arguments.  Loading and translating the default profile
takes well under a millisecond, so nothing is cached.
"""

from __future__ import annotations

from ..lean import json_dumps, json_loads

from ..errors import InvalidArgument

#: where containers-common puts the default profile (containers.conf's seccomp_profile)
DEFAULT_PROFILE = "/usr/share/containers/seccomp.json"

#: Python's platform.machine() to the Go architecture names profiles use
MACHINE_TO_GOARCH = {
    "x86_64": "amd64", "amd64": "amd64", "i386": "386", "i686": "386", "aarch64": "arm64", "arm64": "arm64",
    "armv7l": "arm", "armv6l": "arm", "ppc64le": "ppc64le", "ppc64": "ppc64", "s390x": "s390x",
    "mips64": "mips64", "mips64el": "mips64le", "riscv64": "riscv64",
}

#: Go architecture to the libseccomp architecture that names it in an archMap
GOARCH_TO_SCMP = {
    "386": "SCMP_ARCH_X86", "amd64": "SCMP_ARCH_X86_64", "arm": "SCMP_ARCH_ARM", "arm64": "SCMP_ARCH_AARCH64",
    "mips": "SCMP_ARCH_MIPS", "mips64": "SCMP_ARCH_MIPS64", "mips64le": "SCMP_ARCH_MIPSEL64",
    "mipsle": "SCMP_ARCH_MIPSEL", "ppc": "SCMP_ARCH_PPC", "ppc64": "SCMP_ARCH_PPC64",
    "ppc64le": "SCMP_ARCH_PPC64LE", "s390": "SCMP_ARCH_S390", "s390x": "SCMP_ARCH_S390X",
    "riscv64": "SCMP_ARCH_RISCV64",
}


def load_profile(path: str) -> dict:
    """A profile file, parsed; errors in podman's words."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InvalidArgument(f"opening seccomp profile failed: open {path}: {e.strerror.lower()}") from None
    try:
        profile = json_loads(data)
    except ValueError as e:
        raise InvalidArgument(f"decoding seccomp profile failed: {path}: {e}") from None
    if not isinstance(profile, dict):
        raise InvalidArgument(f"decoding seccomp profile failed: {path}: not a JSON object")
    return profile


def kernel_version(release: str) -> tuple[int, int]:
    """'6.1.0-18-amd64' -> (6, 1)."""
    nums = []
    for part in release.split(".")[:2]:
        digits = ""
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        nums.append(int(digits or 0))
    while len(nums) < 2:
        nums.append(0)
    return nums[0], nums[1]


def _conditions_met(rule: dict, arch: str, caps: frozenset, kernel: tuple[int, int]) -> bool:
    inc = rule.get("includes") or {}
    exc = rule.get("excludes") or {}
    if arch in (exc.get("arches") or ()):
        return False
    if any(c in caps for c in (exc.get("caps") or ())):
        return False
    if exc.get("minKernel") and kernel >= kernel_version(str(exc["minKernel"])):
        return False
    if inc.get("arches") and arch not in inc["arches"]:
        return False
    if not all(c in caps for c in (inc.get("caps") or ())):
        return False
    if inc.get("minKernel") and kernel < kernel_version(str(inc["minKernel"])):
        return False
    return True


def _syscall_rule(names: list[str], rule: dict) -> dict:
    """One OCI LinuxSyscall; empty and zero fields left out, as Go's omitempty does."""
    out: dict = {"names": list(names), "action": rule["action"]}
    if rule.get("errnoRet") is not None:
        out["errnoRet"] = rule["errnoRet"]
    args = []
    for a in rule.get("args") or ():
        arg = {"index": a["index"], "value": a.get("value", 0)}
        if a.get("valueTwo"):
            arg["valueTwo"] = a["valueTwo"]
        arg["op"] = a["op"]
        args.append(arg)
    if args:
        out["args"] = args
    return out


def translate(profile: dict, bounding: list[str] | tuple | frozenset, goarch: str, kernel: tuple[int, int] = (99, 0)) -> dict:
    """The OCI `linux.seccomp` for a container whose bounding set is
    `bounding`, on Go architecture `goarch` and kernel (major, minor)."""
    if profile.get("architectures") and profile.get("archMap"):
        raise InvalidArgument("'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'")
    out: dict = {"defaultAction": profile.get("defaultAction", "SCMP_ACT_ALLOW")}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    arches = list(profile.get("architectures") or [])
    native = GOARCH_TO_SCMP.get(goarch)
    for entry in profile.get("archMap") or ():
        if entry.get("architecture") == native:
            arches += [entry["architecture"], *(entry.get("subArchitectures") or ())]
            break
    if arches:
        out["architectures"] = arches
    if profile.get("flags"):
        out["flags"] = list(profile["flags"])
    if profile.get("listenerPath"):
        out["listenerPath"] = profile["listenerPath"]
    caps = frozenset(bounding)
    syscalls = []
    for rule in profile.get("syscalls") or ():
        if not isinstance(rule, dict) or "action" not in rule:
            raise InvalidArgument(f"invalid seccomp rule {json_dumps(rule)}: a rule needs an action")
        if rule.get("name") and rule.get("names"):
            raise InvalidArgument("'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'")
        if not _conditions_met(rule, goarch, caps, kernel):
            continue
        names = [rule["name"]] if rule.get("name") else list(rule.get("names") or ())
        syscalls.append(_syscall_rule(names, rule))
    out["syscalls"] = syscalls
    return out
