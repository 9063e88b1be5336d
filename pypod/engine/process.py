"""How a container's process is started and watched, beyond its command
and environment: an init as PID 1, the time zone, systemd mode, umask,
annotations, the files pypod writes for others (pid files, cid file), the
containers it needs running first, and conmon's timeout."""

from __future__ import annotations

from ..record import field, record

from .record import Record

@record
class ProcessOptions(Record):
    #: run an init (catatonit) as PID 1 that reaps zombies and forwards signals
    init: bool = False
    #: the init binary on the host ("" = containers.conf's or catatonit)
    init_path: str = ""
    #: a zone name (Europe/Paris), "local" for the host's, or ""
    timezone: str = ""
    #: true | false | always: set the container up for systemd as PID 1
    systemd: str = "true"
    #: octal text; "" until create resolves it (containers.conf, else 0022)
    umask: str = ""
    #: execution domain for the process (LINUX32, ...); "" = the host's
    personality: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    #: seconds after which conmon kills the container; 0 = never
    timeout: int = 0
    #: container | conmon | ignore: who gets the sd_notify socket
    sdnotify: str = "container"
    #: files to write the container's and conmon's pid to ("" = none)
    pidfile: str = ""
    conmon_pidfile: str = ""
    #: where the CLI wrote the container's ID (--cidfile), for inspect
    cidfile: str = ""
    #: IDs of containers started before this one
    requires: list[str] = field(default_factory=list)
    #: default variables to leave out of the environment; ALL for every one
    unsetenv: list[str] = field(default_factory=list)
    unsetenv_all: bool = False
    #: NAME=VALUE with ${NAME}: defaults extended at start (--env-merge)
    env_merge: list[str] = field(default_factory=list)
    #: add an /etc/passwd entry for the user when the image lacks one
    passwd: bool = True
    #: template of that entry ($USERNAME, $UID, $GID, $NAME, $HOME)
    passwd_entry: str = ""
    #: host users to copy into the container's /etc/passwd
    hostusers: list[str] = field(default_factory=list)
    #: directories inside the container that are chroots of their own
    chrootdirs: list[str] = field(default_factory=list)
    #: the streams `create -a` named: what a later `start --attach` attaches ([] = all)
    attach: list[str] = field(default_factory=list)
    #: --init-ctr: "always" (run at each pod start) or "once" (then removed); "" = not one
    init_ctr: str = ""

    def kept_defaults(self, env: list[str]) -> list[str]:
        """Default variables (the image's) less those --unsetenv names."""
        if self.unsetenv_all:
            return []
        return [e for e in env if e.partition("=")[0] not in self.unsetenv]
