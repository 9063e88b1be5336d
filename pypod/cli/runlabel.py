"""`pypod container runlabel LABEL IMAGE [ARG...]`: run the command an
image carries in a label (atomic's convention: `LABEL run="podman run -d
--name NAME IMAGE ..."`), with IMAGE and NAME filled in and podman (or
docker) replaced by pypod itself."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

from ..errors import InvalidArgument, NoSuchContainer


def add_runlabel_args(p) -> None:
    import argparse

    from .registry import _add_registry_flags

    p.add_argument("--display", action="store_true", help="print the command the label makes, without running it")
    p.add_argument("-n", "--name", default="", help="the NAME the command gets (default: the image's base name)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the pull's progress")
    p.add_argument("--replace", action="store_true", help="remove a container called NAME first (stopping it)")
    _add_registry_flags(p)
    p.add_argument("label", metavar="LABEL")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARG")


#: the first words a label's command may start with that mean "this engine"
ENGINES = ("podman", "docker", "pypod", "/usr/bin/podman", "/usr/bin/docker")


def label_command(label: str, image_name: str, name: str, args: list[str], pypod: str,
                  env: dict[str, str]) -> list[str]:
    """The command line a label's value makes: IMAGE and NAME (bare, as
    IMAGE=IMAGE and NAME=NAME, or as $IMAGE and $NAME) filled in, the user's
    arguments appended, $OPT1..3 and $PWD taken from env."""
    if not name:
        raise InvalidArgument("name cannot be empty")
    if args:
        label = f"{label} {' '.join(args)}"
    try:
        words = shlex.split(label)
    except ValueError as e:
        raise InvalidArgument(f"cannot parse the label's command: {e}") from None
    if not words:
        raise InvalidArgument("the label's command is empty")
    if words[0] in ENGINES:
        words[0] = pypod
    out = [words[0]]
    for word in words[1:]:
        if word == "IMAGE=IMAGE":
            word = f"IMAGE={image_name}"
        elif word == "NAME=NAME":
            word = f"NAME={name}"
        else:
            word = word.replace("$IMAGE", image_name).replace("$NAME", name)
            word = word.replace("IMAGE", image_name).replace("NAME", name)
        out.append(_expand(word, env))
    return out


def _expand(word: str, env: dict[str, str]) -> str:
    """Go's os.Expand over the few variables a label may use; others are empty."""
    import re

    def value(m) -> str:
        key = m.group(1) or m.group(2)
        return env.get(key, "") if key in ("OPT1", "OPT2", "OPT3", "PWD") else ""

    return re.sub(r"\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)", value, word)


def default_name(image_name: str) -> str:
    """The image's last path part without its tag."""
    return image_name.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]


def cmd_runlabel(engine, a) -> int:
    from ..registry import operations as ops
    from .registry import _progress, _registry_args

    img = ops.ensure_image(engine, a.image, "missing", _progress(a.quiet), args=_registry_args(a))
    labels = (img.config or {}).get("Labels") or {}
    value = labels.get(a.label, "")
    if not value:
        raise InvalidArgument(f"cannot find the value of label: {a.label} in image: {a.image}")
    history = engine.images.names_history(img.id)
    image_name = history[0] if history else img.id
    name = a.name or default_name(a.image if not img.id.startswith(a.image) else image_name)
    env = {**os.environ, "PODMAN_RUNLABEL_NESTED": "1"}
    exe = os.path.join(os.path.dirname(sys.executable), "pypod")
    cmd = label_command(value, image_name, name, a.args, exe if os.access(exe, os.X_OK) else "pypod", env)
    # the command runs against the same store this pypod was told to use
    cmd[1:1] = engine_flags(engine) if cmd[0] in (exe, "pypod") else []
    if a.display:
        print("command: " + " ".join(cmd))
        return 0
    if a.replace:
        try:
            engine.container(name).remove(force=True)
        except NoSuchContainer:
            pass
    engine.close()
    return subprocess.run(cmd, env=env).returncode


def engine_flags(engine) -> list[str]:
    cfg = engine.config
    return ["--root", cfg.root, "--runroot", cfg.runroot]
