"""What this host can honour: a container configuration asking for
something the host lacks (a MAC system, a kernel feature, a log backend) is
refused at create with one clear line, never run looking confined or
limited when it is not."""

from __future__ import annotations

import os

from ..errors import InvalidArgument
from .container import ContainerConfig


def apparmor_enabled() -> bool:
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().strip() == "Y" and os.path.isdir("/sys/kernel/security/apparmor")
    except OSError:
        return False


def selinux_enabled() -> bool:
    return os.path.exists("/sys/fs/selinux/enforce")


def check(cfg: ContainerConfig) -> None:
    _check_security(cfg)


def _check_security(cfg: ContainerConfig) -> None:
    from .security import UNCONFINED

    sec = cfg.security
    if sec.apparmor_profile and sec.apparmor_profile != UNCONFINED and not apparmor_enabled():
        raise InvalidArgument(f'apparmor profile "{sec.apparmor_profile}" specified, but Apparmor is not enabled on this system')
    labels = [o for o in sec.label_options if o not in ("disable", "nested")]
    if labels:
        if not selinux_enabled():
            raise InvalidArgument(f'SELinux label "{labels[0]}" specified, but SELinux is not enabled on this system')
        raise InvalidArgument(f'SELinux label "{labels[0]}": pypod does not apply SELinux labels')
    if not cfg.privileged and sec.seccomp_profile != UNCONFINED:
        # Read the profile now: a missing or broken one fails `create`, not a later `start`.
        from ..proto.seccomp import translate
        from .bundle import seccomp_profile

        profile = seccomp_profile(cfg)
        if profile is not None:
            translate(profile, (), "amd64")
