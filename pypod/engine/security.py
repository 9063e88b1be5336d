"""A container's security settings beyond capabilities: seccomp, no new
privileges, MAC labels, masked and read-only paths, /proc's mount options.

Parsed from `--security-opt` and the API bodies by pypod/specgen/security.py;
turned into the OCI spec by pypod/proto/oci_spec.py.
"""

from __future__ import annotations

from ..record import field, record

from .record import Record

#: seccomp_profile's value that turns filtering off
UNCONFINED = "unconfined"


@record
class DeviceSpec(Record):
    """A host device (or a directory of them) given to the container."""

    host_path: str = ""
    container_path: str = ""
    #: cgroup access: some of r, w, m
    permissions: str = "rwm"


@record
class SecurityConfig(Record):
    #: "" (the default profile), "unconfined", or a profile's path
    seccomp_profile: str = ""
    #: a profile given inline (the Docker API sends the file's JSON itself)
    seccomp_profile_json: str = ""
    #: "default", or "image": a profile named by the image's
    #: io.containers.seccomp.profile label wins over the default one
    seccomp_policy: str = "default"
    no_new_privileges: bool = False
    #: AppArmor profile name ("" = none, "unconfined")
    apparmor_profile: str = ""
    #: SELinux label options (disable, type:T, level:L, ...)
    label_options: list[str] = field(default_factory=list)
    #: paths masked on top of the defaults
    mask: list[str] = field(default_factory=list)
    #: default masked or read-only paths to leave alone; "ALL" for every one
    unmask: list[str] = field(default_factory=list)
    #: mount options for the container's /proc (hidepid=2, ...)
    proc_opts: list[str] = field(default_factory=list)
    devices: list[DeviceSpec] = field(default_factory=list)
    #: device cgroup rules ('c 1:3 rwm') allowed besides the devices
    device_cgroup_rules: list[str] = field(default_factory=list)

    NESTED = {"devices": DeviceSpec}

    def security_opt(self) -> list[str]:
        """HostConfig.SecurityOpt as podman's inspect lists it."""
        out = []
        if self.no_new_privileges:
            out.append("no-new-privileges")
        if self.apparmor_profile:
            out.append(f"apparmor={self.apparmor_profile}")
        out += [f"label={o}" for o in self.label_options]
        if self.seccomp_profile:
            out.append(f"seccomp={self.seccomp_profile}")
        elif self.seccomp_profile_json:
            out.append(f"seccomp={self.seccomp_profile_json}")
        return out
