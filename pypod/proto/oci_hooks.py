"""OCI hooks as the hooks configuration spec 1.0.0 describes them
(containers/common's oci-hooks(5)): JSON files in hook directories that say
which program to run, at which stages, for which containers.

Pure functions but the last (read_hook_dirs reads the directories): parse
a file's text, decide which hooks match a container's OCI spec, and put
them in the spec's `hooks` for the runtime to run.
"""

from __future__ import annotations

from ..errors import InvalidArgument

# re and json are imported where a hook file is read or matched: every run
# looks for hook files, and most hosts have none.

STAGES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


def parse_hook(name: str, text: str) -> dict:
    """One hook file, checked; raises InvalidArgument naming the file."""
    def bad(why: str):
        return InvalidArgument(f"parsing hook {name}: {why}")

    try:
        from ..lean import json_loads

        data = json_loads(text)
    except ValueError as e:
        raise bad(f"invalid JSON: {e}") from None
    if not isinstance(data, dict):
        raise bad("not a JSON object")
    if data.get("version") != "1.0.0":
        raise bad(f"unrecognized hook version: {data.get('version')!r}")
    hook = data.get("hook")
    if not isinstance(hook, dict) or not isinstance(hook.get("path"), str) or not hook["path"].startswith("/"):
        raise bad("hook.path must be an absolute path")
    for key in ("args", "env"):
        if key in hook and not (isinstance(hook[key], list) and all(isinstance(x, str) for x in hook[key])):
            raise bad(f"hook.{key} must be a list of strings")
    if "timeout" in hook and (not isinstance(hook["timeout"], int) or hook["timeout"] < 1):
        raise bad("hook.timeout must be a positive integer")
    when = data.get("when")
    if not isinstance(when, dict):
        raise bad("missing required property: when")
    if not any(when.get(k) for k in ("always", "annotations", "commands", "hasBindMounts")):
        raise bad("when: at least one of always, annotations, commands or hasBindMounts must be set")
    for key in ("annotations",):
        if key in when and not (isinstance(when[key], dict) and all(isinstance(v, str) for v in when[key].values())):
            raise bad(f"when.{key} must map regular expressions to regular expressions")
    if "commands" in when and not (isinstance(when["commands"], list) and all(isinstance(c, str) for c in when["commands"])):
        raise bad("when.commands must be a list of regular expressions")
    import re

    try:
        for pattern in [*when.get("commands", []), *when.get("annotations", {}).keys(), *when.get("annotations", {}).values()]:
            re.compile(pattern)
    except re.error as e:
        raise bad(f"invalid regular expression: {e}") from None
    stages = data.get("stages")
    if not isinstance(stages, list) or not stages:
        raise bad("missing required property: stages")
    for st in stages:
        if st not in STAGES:
            raise bad(f"unknown stage {st!r}")
    return data


def matches(hook: dict, spec: dict, has_bind_mounts: bool) -> bool:
    """Any of the hook's `when` conditions holds for this container."""
    when = hook["when"]
    if when.get("always"):
        return True
    if when.get("hasBindMounts") and has_bind_mounts:
        return True
    import re

    annotations = spec.get("annotations") or {}
    for key_re, value_re in (when.get("annotations") or {}).items():
        for k, v in annotations.items():
            if re.search(key_re, k) and re.search(value_re, v):
                return True
    args = (spec.get("process") or {}).get("args") or []
    if args:
        for pattern in when.get("commands") or []:
            if re.search(pattern, args[0]):
                return True
    return False


def add_hooks(spec: dict, hooks: list[dict], has_bind_mounts: bool) -> None:
    """Append each matching hook to the spec, stage by stage, in the given order."""
    for hook in hooks:
        if not matches(hook, spec, has_bind_mounts):
            continue
        entry = {"path": hook["hook"]["path"]}
        for key in ("args", "env", "timeout"):
            if key in hook["hook"]:
                entry[key] = hook["hook"][key]
        for stage in hook["stages"]:
            spec.setdefault("hooks", {}).setdefault(stage, []).append(entry)


def read_hook_dirs(dirs) -> list[dict]:
    """The hooks of the directories, in file-name order; a file in a later
    directory replaces one of the same name in an earlier one (podman's
    /etc over /usr/share rule).  Missing directories hold no hooks."""
    import os

    by_name: dict[str, tuple[str, str]] = {}
    for d in dirs:
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            continue
        except OSError as e:
            raise InvalidArgument(f"reading hooks directory {d}: {e.strerror or e}") from None
        for name in names:
            if name.endswith(".json"):
                path = os.path.join(d, name)
                with open(path) as f:
                    by_name[name] = (path, f.read())
    return [parse_hook(path, text) for _name, (path, text) in sorted(by_name.items())]
