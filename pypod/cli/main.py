"""`pypod`: the podman-compatible command line.

Start-up matters here (a script may call `pypod exec` thousands of times),
so only the chosen command's module is imported and only its parser built.
Errors are mapped to podman's exit codes in exactly one place: main().
"""

from __future__ import annotations

import os
import sys

from .. import trace

# name -> (module under pypod.cli, function prefix, summary)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("containers", "run", "Run a command in a new container"),
    "create": ("containers", "create", "Create but do not start a container"),
    "start": ("lifecycle", "start", "Start one or more containers"),
    "stop": ("lifecycle", "stop", "Stop one or more containers"),
    "kill": ("lifecycle", "kill", "Kill one or more running containers with a specific signal"),
    "restart": ("lifecycle", "restart", "Restart one or more containers"),
    "pause": ("lifecycle", "pause", "Pause all the processes in one or more containers"),
    "unpause": ("lifecycle", "unpause", "Unpause the processes in one or more containers"),
    "rm": ("lifecycle", "rm", "Remove one or more containers"),
    "init": ("lifecycle", "init", "Initialize one or more containers"),
    "wait": ("lifecycle", "wait", "Block on one or more containers"),
    "container-exists": ("lifecycle", "exists", "Check if a container exists in local storage"),
    "update": ("update", "update", "Update an existing container's cgroup limits"),
    "container-prune": ("lifecycle", "container_prune", "Remove all non running containers"),
    "generate": ("generate", "generate", "Generate structured data (systemd units, specs) from containers"),
    "unshare": ("unshare", "unshare", "Run a command in a modified user namespace"),
    "runlabel": ("runlabel", "runlabel", "Run the command an image's label holds"),
    "container-clone": ("clone", "clone", "Create a copy of an existing container"),
    "ps": ("ps", "ps", "List containers"),
    "inspect": ("inspect", "inspect", "Display the configuration of object denoted by ID"),
    "logs": ("logs", "logs", "Fetch the logs of one or more containers"),
    "top": ("containers", "top", "Display the running processes of a container"),
    "attach": ("containers", "attach", "Attach to a running container"),
    "cleanup": ("cleanup", "cleanup", "Clean up network and mountpoints of one or more containers"),
    "exec": ("execs", "exec", "Run a process in a running container"),
    "images": ("images", "images", "List images in local storage"),
    "rmi": ("images", "rmi", "Remove one or more images from local storage"),
    "tag": ("images", "tag", "Add an additional name to a local image"),
    "load": ("images", "load", "Load image(s) from a tar archive"),
    "save": ("images", "save", "Save image(s) to an archive"),
    "import": ("images", "import", "Import a tarball to create a filesystem image"),
    "untag": ("images", "untag", "Remove a name from a local image"),
    "history": ("images", "history", "Show history of a specified image"),
    "image-tree": ("images", "tree", "Prints layer hierarchy of an image in a tree format"),
    "image-prune": ("images", "prune", "Remove unused images"),
    "image-diff": ("filesystem", "image_diff", "Inspect changes to the image's file systems"),
    "image-mount": ("images", "image_mount", "Mount an image's root filesystem"),
    "image-unmount": ("images", "image_unmount", "Unmount an image's root filesystem"),
    "pull": ("registry", "pull", "Pull an image from a registry"),
    "push": ("registry", "push", "Push an image to a specified destination"),
    "login": ("registry", "login", "Log in to a container registry"),
    "logout": ("registry", "logout", "Log out of a container registry"),
    "search": ("registry", "search", "Search a registry for an image"),
    "manifest": ("registry", "manifest", "Inspect manifests and manifest lists in registries"),
    "image-exists": ("images", "exists", "Check if an image exists in local storage"),
    "image-trust": ("trust", "image_trust", "Manage container image trust policy"),
    "info": ("system", "info", "Display pypod system information"),
    "events": ("events", "events", "Show pypod events"),
    "version": ("system", "version", "Display the pypod version information"),
    "secret": ("secrets", "secret", "Manage secrets"),
    "volume": ("volumes", "volume", "Manage volumes"),
    "service": ("system", "service", "Run an API service (Docker and libpod APIs)"),
    "check": ("check", "check", "Check (and with --repair fix) what a crash left in the storage and state"),
    "system-df": ("system", "df", "Show pypod disk usage"),
    "system-prune": ("system", "system_prune", "Remove unused data"),
    "system-reset": ("system", "reset", "Reset pypod storage"),
    "system-migrate": ("system", "migrate", "Migrate containers (to another OCI runtime)"),
    "system-renumber": ("system", "renumber", "Drop the locks of containers that are gone"),
    "system-connection": ("connection", "connection", "Manage remote service destinations"),
    "checkpoint": ("checkpoint", "checkpoint", "Checkpoint one or more running containers (needs a working CRIU)"),
    "restore": ("checkpoint", "restore", "Restore one or more containers from a checkpoint"),
    "healthcheck-run": ("health", "healthcheck_run", "Run a container's health check now"),
    "port": ("networks", "port", "List port mappings or a specific mapping for the container"),
    **{f"network {sub}": ("networks", f"network_{sub}", summary) for sub, summary in (
        ("create", "Create a network"), ("ls", "List networks"), ("inspect", "Display details of networks"),
        ("rm", "Remove networks"), ("prune", "Remove all networks not used by a container"),
        ("exists", "Check if a network exists"), ("connect", "Connect a container to a network"),
        ("disconnect", "Disconnect a container from a network"),
        ("reload", "Reload the network (firewall rules) of containers"))},
    **{f"pod {sub}": ("pods", f"pod_{sub}", summary) for sub, summary in (
        ("create", "Create a new empty pod"), ("start", "Start one or more pods"), ("stop", "Stop one or more pods"),
        ("restart", "Restart one or more pods"), ("kill", "Send the specified signal or SIGKILL to containers in a pod"),
        ("pause", "Pause one or more pods"), ("unpause", "Unpause one or more pods"), ("rm", "Remove one or more pods"),
        ("ps", "List pods"), ("inspect", "Display a pod configuration"), ("exists", "Check if a pod exists"),
        ("top", "Display the running processes of containers in a pod"), ("prune", "Remove all stopped pods"),
        ("stats", "Display resource usage statistics of pods"), ("logs", "Fetch logs of the pod's containers"),
        ("clone", "Create a copy of a pod and its containers"))},
    # the container's filesystem (cli/filesystem.py)
    "cp": ("filesystem", "cp", "Copy files/folders between a container and the local filesystem"),
    "diff": ("filesystem", "diff", "Display the changes to the object's file system"),
    "export": ("filesystem", "export", "Export a container's filesystem contents as a tar archive"),
    "mount": ("filesystem", "mount", "Mount a working container's root filesystem"),
    "unmount": ("filesystem", "unmount", "Unmount working container's root filesystem"),
    "rename": ("filesystem", "rename", "Rename an existing container"),
    "commit": ("filesystem", "commit", "Create new image based on the changed container"),
    "build": ("build", "build", "Build an image using instructions from Containerfiles"),
    "stats": ("stats", "stats", "Display a live stream of container resource usage statistics"),
}

# `pypod container X` / `pypod image X` spell the same commands.
GROUPS = {
    "container": {"ls": "ps", "list": "ps", "cleanup": "cleanup", "runlabel": "runlabel", "clone": "container-clone", "exists": "container-exists", "prune": "container-prune",
                  "umount": "unmount", **{c: c for c in (
                      "run", "create", "start", "stop", "kill", "restart", "pause", "unpause", "rm", "ps", "inspect",
                      "logs", "wait", "attach", "exec", "top", "checkpoint", "restore", "init", "rename", "mount",
                      "unmount", "export", "diff", "update", "port")}},
    "image": {"ls": "images", "list": "images", "rm": "rmi", "tag": "tag", "untag": "untag", "load": "load",
              "save": "save", "import": "import", "inspect": "inspect", "history": "history", "tree": "image-tree",
              "prune": "image-prune", "exists": "image-exists", "diff": "image-diff", "mount": "image-mount",
              "unmount": "image-unmount", "umount": "image-unmount", "pull": "pull",
              "push": "push", "search": "search", "build": "build"},
    "system": {"info": "info", "service": "service", "events": "events", "check": "check", "df": "system-df",
               "prune": "system-prune", "reset": "system-reset", "migrate": "system-migrate",
               "renumber": "system-renumber", "connection": "system-connection"},
    "healthcheck": {"run": "healthcheck-run"},
    "network": {"ls": "network ls", "list": "network ls", "rm": "network rm", "remove": "network rm",
                **{s: f"network {s}" for s in ("create", "inspect", "prune", "exists", "connect", "disconnect", "reload")}},
    "pod": {"ls": "pod ps", "list": "pod ps", "remove": "pod rm",
            **{s: f"pod {s}" for s in ("create", "start", "stop", "restart", "kill", "pause", "unpause", "rm", "ps",
                                         "inspect", "exists", "top", "prune", "stats", "logs", "clone")}},
}

GROUPS["container"].update({c: c for c in ("cp", "commit", "stats")})
GROUPS["image"]["trust"] = "image-trust"

# reachable only through their group, as in podman
GROUP_ONLY = ("cleanup", "runlabel", "container-clone", "service", "check", "container-exists", "container-prune", "image-tree", "image-prune", "image-trust",
              "image-exists", "image-diff", "image-mount", "image-unmount", "system-df", "system-prune", "system-reset",
              "system-migrate", "system-renumber", "system-connection", "healthcheck-run",
              *(c for c in COMMANDS if " " in c))

#: what runs here even when --remote is in force (podman's too)
LOCAL_ONLY = ("system-connection",)

#: what a rootless user runs without joining its user namespace
OUTSIDE_USERNS = ("version", "system-connection")

#: other spellings of top-level commands
ALIASES = {"umount": "unmount"}

GROUP_SUMMARIES = {
    "container": "Manage containers",
    "image": "Manage images",
    "system": "Manage pypod",
    "healthcheck": "Manage health checks on containers",
    "network": "Manage networks",
    "pod": "Manage pods",
}

# -- global flags ------------------------------------------------------------------------

#: flag -> (kind, short form, help); kinds: value, list (repeatable), bool
GLOBAL_FLAGS: dict[str, tuple[str, str, str]] = {
    "--root": ("value", "", "where persistent state lives (default /var/lib/pypod)"),
    "--runroot": ("value", "", "where volatile state lives (default /run/pypod)"),
    "--runtime": ("value", "", "OCI runtime, by name or path (default runc; falls back to another found)"),
    "--runtime-flag": ("list", "", "add a global flag to every runtime call (debug gives --debug; repeatable)"),
    "--conmon": ("value", "", "path of the conmon binary to use"),
    "--cgroup-manager": ("value", "", "cgroupfs or disabled"),
    "--events-backend": ("value", "", "where events go: file (default), none, or journald where one runs"),
    "--hooks-dir": ("list", "", "directory of OCI hook files (repeatable; replaces the default ones)"),
    "--storage-driver": ("value", "", "storage driver: overlay (default) or vfs"),
    "--storage-opt": ("list", "", "storage driver option, e.g. overlay.mountopt=nodev (repeatable)"),
    "--tmpdir": ("value", "", "directory for temporary state such as the events log"),
    "--namespace": ("value", "", "libpod namespace: containers made in one are seen only in it"),
    "--volumepath": ("value", "", "directory where named volumes are kept"),
    "--log-level": ("value", "", "log messages at and above: debug, info, warn, error, fatal, panic"),
    "--syslog": ("bool", "", "send log messages to syslog as well"),
    "--noout": ("bool", "", "do not write to standard output"),
    "--config": ("value", "", "TOML (or JSON) config file (default $PYPOD_CONFIG or /etc/pypod/pypod.toml)"),
    "--network-config-dir": ("value", "", "directory of network definitions (default ROOT/networks)"),
    "--network-cmd-path": ("value", "", "path of the netavark binary"),
    "--remote": ("bool", "-r", "run the command on a pypod or podman service (default: $CONTAINER_HOST or the default connection)"),
    "--url": ("value", "", "the service to use: unix:///path or tcp://host:port (implies --remote)"),
    "--connection": ("value", "-c", "the named service connection to use (`system connection`; implies --remote)"),
    "--identity": ("value", "", "ssh identity file (ssh destinations are podman's: pypod refuses them)"),
    "--ssh": ("value", "", "ssh client to use, golang or native (for ssh destinations, which pypod refuses)"),
    "--help": ("bool", "-h", "show this help"),
    "--version": ("bool", "-v", "print the version"),
}

_SHORT = {short: flag for flag, (_k, short, _h) in GLOBAL_FLAGS.items() if short}


def _usage() -> str:
    lines = ["Usage: pypod [options] [command]", "", "A daemonless OCI container engine (podman-compatible).", "",
             "Available Commands:"]
    entries = [(g, s) for g, s in GROUP_SUMMARIES.items()]
    entries += [(name, summary) for name, (_m, _f, summary) in COMMANDS.items() if name not in GROUP_ONLY]
    for name, summary in sorted(entries):
        lines.append(f"  {name:<12} {summary}")
    lines += ["", "Options:"]
    for flag, (kind, short, help_) in GLOBAL_FLAGS.items():
        spell = f"{short}, {flag}" if short else f"    {flag}"
        if kind != "bool":
            spell += " " + ("stringArray" if kind == "list" else "string")
        lines.append(f"  {spell:<30} {help_}")
    return "\n".join(lines)


def _group_usage(group: str) -> str:
    subs = GROUPS[group]
    lines = [f"{GROUP_SUMMARIES.get(group, '')}", "", f"Usage: pypod {group} [command]", "", "Available Commands:"]
    for sub in sorted(subs):
        target = subs[sub]
        lines.append(f"  {sub:<12} {COMMANDS[target][2]}")
    return "\n".join(lines)


def split_globals(argv: list[str]) -> tuple[dict, list[str]]:
    """Global flags come before the command (and, long ones, may follow it:
    see add_global_flags)."""
    opts: dict = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            break
        name, eq, value = arg.partition("=")
        name = _SHORT.get(name, name)
        spec = GLOBAL_FLAGS.get(name)
        if spec is None:
            raise UsageError(f"unknown flag: {arg}\nSee 'pypod --help'")
        kind = spec[0]
        key = name[2:].replace("-", "_")
        if kind == "bool":
            if eq and value.lower() not in ("true", "false", "1", "0"):
                raise UsageError(f'invalid argument "{value}" for "{name}" flag: strconv.ParseBool: parsing "{value}": invalid syntax')
            opts[key] = not eq or value.lower() in ("true", "1")
        else:
            if not eq:
                i += 1
                if i >= len(argv):
                    raise UsageError(f"flag needs an argument: {arg}")
                value = argv[i]
            if kind == "list":
                opts.setdefault(key, []).append(value)
            else:
                opts[key] = value
        i += 1
    return opts, argv[i:]


def add_global_flags(parser) -> None:
    """The long global flags, accepted after the command too (as podman's
    persistent flags are), unless the command has a flag of that name."""
    from .args import SUPPRESS

    taken = parser._option_string_actions
    for flag, (kind, _short, _h) in GLOBAL_FLAGS.items():
        if flag in taken or flag in ("--help", "--version"):
            continue
        dest = "global_" + flag[2:].replace("-", "_")
        if kind == "bool":
            parser.add_argument(flag, dest=dest, action="store_true", default=None, help=SUPPRESS)
        elif kind == "list":
            parser.add_argument(flag, dest=dest, action="append", default=None, help=SUPPRESS)
        else:
            parser.add_argument(flag, dest=dest, default=None, help=SUPPRESS)


def _merge_late_globals(gopts: dict, ns) -> None:
    for key, value in list(vars(ns).items()):
        if key.startswith("global_"):
            delattr(ns, key)
            if value is not None:
                name = key[len("global_"):]
                if isinstance(value, list):
                    gopts.setdefault(name, []).extend(value)
                else:
                    gopts[name] = value


class UsageError(Exception):
    pass


def make_parser(prog: str, description: str, add_help: bool = True):
    """argparse's API; argparse itself only when a command line needs it (cli/args.py)."""
    from .args import LeanParser

    def full():
        import argparse

        class Parser(argparse.ArgumentParser):
            def error(self, message):
                # a flag's own value error already names the flag, in podman's words
                head, sep, rest = message.partition(": ")
                if head.startswith("argument ") and sep and rest.startswith("invalid argument \""):
                    message = rest
                raise UsageError(f"{message}\nSee '{self.prog} --help'")

        return Parser(prog=prog, description=description, add_help=add_help)

    return LeanParser(full, add_help=add_help, prog=prog)


def resolve_command(rest: list[str]) -> tuple[str, list[str], str]:
    """(command name, its arguments, the prog text for usage lines)."""
    word = rest[0]
    if word in GROUPS:
        if len(rest) < 2 or rest[1] in ("-h", "--help"):
            raise GroupHelp(word)
        sub = rest[1]
        if sub not in GROUPS[word]:
            raise UsageError(f"unrecognized command `pypod {word} {sub}`\nTry 'pypod {word} --help' for more information")
        return GROUPS[word][sub], rest[2:], f"pypod {word} {sub}"
    if word == "help":
        raise GroupHelp(rest[1] if len(rest) > 1 and rest[1] in GROUPS else "")
    word = ALIASES.get(word, word)
    if word not in COMMANDS or word in GROUP_ONLY:
        raise UsageError(f"unrecognized command `pypod {word}`\nTry 'pypod --help' for more information")
    return word, rest[1:], f"pypod {word}"


class GroupHelp(Exception):
    """`pypod GROUP` or `pypod help [GROUP]`: print that group's commands."""


def launch() -> None:
    """The `pypod` command: main(), then out of the process at once.

    The interpreter's own teardown (every module's dict cleared, the
    objects freed one by one, the store's connection closed) costs a CLI
    call 3 to 5 ms and does nothing a process's exit does not: the output
    is flushed here, threads that must finish are joined as the
    interpreter would, and the store's connections go as a killed
    process's do, which SQLite is made to survive (whatever they
    committed is in the WAL; sqlite3_close would only add a checkpoint
    and its fsyncs).  In-process callers use main(), which closes all."""
    code = main(leaving=True)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a reader that went away (`pypod ps | head`) misses nothing it wanted
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()  # as Py_Finalize: joins non-daemon threads, ends pools' workers
    import atexit

    atexit._run_exitfuncs()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


def main(argv: list[str] | None = None, leaving: bool = False) -> int:
    """The command line argv; returns the exit code.  leaving: the process
    ends right after (launch()), so the engine is left open, not closed."""
    argv = sys.argv[1:] if argv is None else argv
    from ..errors import PypodError

    gopts: dict = {}
    try:
        gopts, rest = split_globals(argv)
        if gopts.get("log_level") == "debug":
            trace.enable()
        trace.step("imports: pypod.cli.main")
        if gopts.pop("version", False):
            from .. import __version__

            print(f"pypod version {__version__}")
            return 0
        if gopts.pop("help", False) or not rest:
            print(_usage())
            return 0 if gopts or argv else 125
        try:
            name, args, prog = resolve_command(rest)
        except GroupHelp as g:
            print(_group_usage(str(g)) if str(g) else _usage())
            return 0 if rest[0] == "help" or len(rest) > 1 else 125
        mod_name, func, summary = COMMANDS[name]
        __import__(f"pypod.cli.{mod_name}")  # importlib's package would cost an import of its own
        mod = sys.modules[f"pypod.cli.{mod_name}"]
        trace.step(f"imports: pypod.cli.{mod_name}")
        parser = make_parser(prog, summary, add_help=func not in getattr(mod, "OWN_HELP", ()))
        getattr(mod, f"add_{func}_args")(parser)
        add_global_flags(parser)
        ns = parser.parse_args(args)
        _merge_late_globals(gopts, ns)
        if gopts.pop("noout", False):
            sys.stdout = open(os.devnull, "w")
        trace.step("arguments parsed")
        if name not in LOCAL_ONLY and (gopts.get("remote") or gopts.get("url") or gopts.get("connection")
                                       or os.environ.get("CONTAINER_HOST")):
            from . import remote

            return remote.run(name, ns, parser, gopts)
        if os.geteuid() != 0 and name not in OUTSIDE_USERNS:
            from .. import rootless

            rootless.enter()  # before any thread starts: a threaded process cannot join
            trace.step("rootless: user namespace joined")
        cfg = _config(gopts)
        early = getattr(mod, f"early_{func}", None)
        if early is not None:
            # a command that may have nothing to do finds out before the engine's imports
            code = early(cfg, ns)
            if code is not None:
                return code
        from ..engine.engine import Engine

        engine = Engine(cfg)
        trace.step("engine configured")
        try:
            return getattr(mod, f"cmd_{func}")(engine, ns) or 0
        finally:
            trace.step(f"{name}: done")
            if not leaving:
                engine.close()
                trace.step("store closed")
    except UsageError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 125
    except PypodError as e:
        print(f"Error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output closed early (`pypod ps | head`): not an error of ours.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except Exception as e:  # a failure nobody classified: one line, as podman, never a traceback
        if gopts.get("log_level") == "debug":
            import traceback

            traceback.print_exc()
        print(f"Error: {describe_unexpected(e)}", file=sys.stderr)
        return 125


def describe_unexpected(e: BaseException) -> str:
    """An unclassified exception in podman's words where there are some."""
    if isinstance(e, OSError) and e.strerror:
        what = e.strerror.lower()
        return f"{e.filename}: {what}" if e.filename else what
    if isinstance(e, RecursionError):
        return "input nested too deeply"
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


def _config(gopts: dict):
    from .. import diag
    from ..config import load_config

    overrides = {
        "root": gopts.get("root"),
        "runroot": gopts.get("runroot"),
        "runtime": gopts.get("runtime"),
        "log_level": {"warn": "warning"}.get(gopts.get("log_level"), gopts.get("log_level")),
        "cgroup_manager": gopts.get("cgroup_manager"),
        "events_backend": gopts.get("events_backend"),
        "storage_driver": gopts.get("storage_driver"),
        "tmpdir": gopts.get("tmpdir"),
        "namespace": gopts.get("namespace"),
        "volume_path": gopts.get("volumepath"),
        "network_config_dir": gopts.get("network_config_dir"),
        "network_cmd_path": gopts.get("network_cmd_path"),
    }
    if "runtime_flag" in gopts:
        overrides["runtime_flags"] = tuple(gopts["runtime_flag"])
    if "storage_opt" in gopts:
        overrides["storage_opts"] = tuple(gopts["storage_opt"])
    if "hooks_dir" in gopts:
        overrides["hooks_dirs"] = tuple(d for d in gopts["hooks_dir"] if d)
    if gopts.get("conmon"):
        path = gopts["conmon"]
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            from ..errors import InvalidArgument

            raise InvalidArgument(f"conmon {path}: not an executable file")
        overrides["conmon_paths"] = [path]
    cfg = load_config(gopts.get("config"), **overrides)
    diag.set_level(cfg.log_level)
    if cfg.log_level == "debug":
        trace.enable()
    if gopts.get("syslog"):
        diag.enable_syslog()
    return cfg


if __name__ == "__main__":
    raise SystemExit(main())
