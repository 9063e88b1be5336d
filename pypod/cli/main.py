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
    "start": ("containers", "start", "Start one or more containers"),
    "stop": ("containers", "stop", "Stop one or more containers"),
    "kill": ("containers", "kill", "Kill one or more running containers with a specific signal"),
    "restart": ("containers", "restart", "Restart one or more containers"),
    "pause": ("containers", "pause", "Pause all the processes in one or more containers"),
    "unpause": ("containers", "unpause", "Unpause the processes in one or more containers"),
    "rm": ("containers", "rm", "Remove one or more containers"),
    "ps": ("containers", "ps", "List containers"),
    "inspect": ("containers", "inspect", "Display the configuration of a container or image"),
    "logs": ("containers", "logs", "Fetch the logs of one or more containers"),
    "wait": ("containers", "wait", "Block on one or more containers"),
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
    "info": ("system", "info", "Display pypod system information"),
    "events": ("system", "events", "Show pypod events"),
    "version": ("system", "version", "Display the pypod version information"),
    "secret": ("secrets", "secret", "Manage secrets"),
    "volume": ("volumes", "volume", "Manage volumes"),
    "service": ("system", "service", "Run an API service (Docker and libpod APIs)"),
    "checkpoint": ("containers", "checkpoint", "Checkpoint one or more running containers (needs a working CRIU)"),
    "restore": ("containers", "restore", "Restore one or more containers from a checkpoint"),
    "healthcheck-run": ("health", "healthcheck_run", "Run a container's health check now"),
}

# `pypod container X` / `pypod image X` spell the same commands.
GROUPS = {
    "container": {"ls": "ps", "list": "ps", "cleanup": "cleanup", **{c: c for c in (
        "run", "create", "start", "stop", "kill", "restart", "pause", "unpause", "rm", "ps", "inspect",
        "logs", "wait", "attach", "exec", "top", "checkpoint", "restore")}},
    "image": {"ls": "images", "list": "images", "rm": "rmi", "tag": "tag", "load": "load", "save": "save",
              "import": "import", "inspect": "inspect"},
    "system": {"info": "info", "service": "service", "events": "events"},
    "healthcheck": {"run": "healthcheck-run"},
}

# reachable only through their group, as in podman
GROUP_ONLY = ("cleanup", "service", "healthcheck-run")

GLOBAL_VALUE_FLAGS = ("--root", "--runroot", "--runtime", "--log-level", "--config", "--cgroup-manager")


def _usage() -> str:
    lines = ["Usage: pypod [global options] COMMAND [options]", "", "A daemonless OCI container engine (podman-compatible).", "",
             "Global options:",
             "  --root DIR            persistent state (default /var/lib/pypod)",
             "  --runroot DIR         volatile state (default /run/pypod)",
             "  --runtime NAME|PATH   OCI runtime (default runc; falls back to another found)",
             "  --cgroup-manager M    cgroupfs or disabled",
             "  --log-level LEVEL     debug, info, warning, error",
             "  --config FILE         TOML config (default $PYPOD_CONFIG or /etc/pypod/pypod.toml)",
             "", "Commands:"]
    for name, (_m, _f, summary) in COMMANDS.items():
        if name not in GROUP_ONLY:
            lines.append(f"  {name:<10} {summary}")
    lines += ["  container  Manage containers (container cleanup, container ls, ...)",
              "  image      Manage images (image ls, image rm, ...)",
              "  system     system service (REST API), system info",
              "  volume     Manage volumes (volume create, volume ls, ...)",
              "  healthcheck  healthcheck run: run a container's health check now"]
    return "\n".join(lines)


def split_globals(argv: list[str]) -> tuple[dict, list[str]]:
    """Global flags come before the command, as in podman."""
    opts: dict = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-"):
            break
        name, eq, value = arg.partition("=")
        if name in GLOBAL_VALUE_FLAGS:
            if not eq:
                i += 1
                if i >= len(argv):
                    raise UsageError(f"flag needs an argument: {name}")
                value = argv[i]
            opts[name[2:].replace("-", "_")] = value
        elif arg in ("-h", "--help"):
            opts["help"] = True
        elif arg in ("-v", "--version"):
            opts["version"] = True
        else:
            raise UsageError(f"unknown flag: {arg}\nSee 'pypod --help'")
        i += 1
    return opts, argv[i:]


class UsageError(Exception):
    pass


def make_parser(prog: str, description: str, add_help: bool = True):
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message):
            raise UsageError(f"{message}\nSee '{self.prog} --help'")

    return Parser(prog=prog, description=description, add_help=add_help)


def resolve_command(rest: list[str]) -> tuple[str, list[str], str]:
    """(command name, its arguments, the prog text for usage lines)."""
    word = rest[0]
    if word in GROUPS:
        if len(rest) < 2 or rest[1] in ("-h", "--help"):
            subs = ", ".join(sorted(GROUPS[word]))
            raise UsageError(f"pypod {word} needs a subcommand: {subs}")
        sub = rest[1]
        if sub not in GROUPS[word]:
            raise UsageError(f"unrecognized command `pypod {word} {sub}`\nTry 'pypod {word} --help' for more information")
        return GROUPS[word][sub], rest[2:], f"pypod {word} {sub}"
    if word not in COMMANDS or word in GROUP_ONLY:
        raise UsageError(f"unrecognized command `pypod {word}`\nTry 'pypod --help' for more information")
    return word, rest[1:], f"pypod {word}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from ..errors import PypodError

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
        name, args, prog = resolve_command(rest)
        mod_name, func, summary = COMMANDS[name]
        import importlib

        mod = importlib.import_module(f"pypod.cli.{mod_name}")
        trace.step(f"imports: pypod.cli.{mod_name}")
        parser = make_parser(prog, summary, add_help=func not in getattr(mod, "OWN_HELP", ()))
        getattr(mod, f"add_{func}_args")(parser)
        ns = parser.parse_args(args)
        trace.step("arguments parsed")
        engine = _engine(gopts)
        trace.step("engine configured")
        try:
            return getattr(mod, f"cmd_{func}")(engine, ns) or 0
        finally:
            trace.step(f"{name}: done")
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


def _engine(gopts: dict):
    from ..config import load_config
    from ..engine.engine import Engine

    cfg = load_config(
        gopts.get("config"),
        root=gopts.get("root"),
        runroot=gopts.get("runroot"),
        runtime=gopts.get("runtime"),
        log_level=gopts.get("log_level"),
        cgroup_manager=gopts.get("cgroup_manager"),
    )
    if cfg.log_level == "debug":
        trace.enable()
    return Engine(cfg)


if __name__ == "__main__":
    raise SystemExit(main())
