"""Running a Containerfile: stage after stage, instruction after instruction.

Every RUN is a real container made by the engine (conmon + runc) on the
image of the step before; COPY and ADD write into a working overlay of
that image.  Either way the step's changes are the overlay's upper dir,
taken as a layer with its whiteouts (storage/commit.py), and the step's
result is a new image on its parent (podman's --layers: one image per
step, each the cache entry for its step; without --layers only the images
RUN needs and the result are made, and the intermediate ones go at the end).

Nothing half-made outlives a build: its containers and working mounts are
named after the build, whose lock (runroot/builds/<id>) is held while it
runs; the next build sweeps what a killed one left (sweep_dead_builds).
The result gets its names only at the very end.
"""

from __future__ import annotations

import json
import os
import secrets as _secrets
import stat

from ..errors import InvalidArgument, NoSuchImage, PypodError
from ..failpoints import failpoint
from ..record import field, record
from .containerfile import (
    PREDEFINED_ARGS,
    Containerfile,
    ContainerfileError,
    Instruction,
    Stage,
    arg_list,
    expand,
    key_values,
    parse,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

    from ..engine.engine import Engine
    from ..storage.images import Image
    from .context import BuildContext

DEFAULT_SHELL = ["/bin/sh", "-c"]
PULL_POLICIES = ("always", "missing", "never", "newer", "ifmissing", "ifnewer", "true", "false")


class BuildError(PypodError):
    """A step failed: podman's `building at STEP "...": ...`."""


@record
class BuildOptions:
    #: the Containerfile's text and the name errors call it by
    containerfile: str = ""
    filename: str = "Containerfile"
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str = ""
    no_cache: bool = False
    layers: bool = True
    squash: bool = False
    squash_all: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    format: str = "oci"
    quiet: bool = False
    #: always, missing, never, newer
    pull: str = "missing"
    #: "" (private), none, host
    network: str = ""
    env: list[str] = field(default_factory=list)
    #: --secret id=ID,src=PATH: id -> host path
    secrets: dict[str, str] = field(default_factory=dict)
    #: --volume HOST:CTR[:OPTS], given to every RUN
    volumes: list[str] = field(default_factory=list)
    add_hosts: list[str] = field(default_factory=list)
    platform: str = ""
    #: how base images are pulled: tls_verify, creds ("user:password"), authfile (registry.operations.registry_args)
    registry: dict = field(default_factory=dict)
    #: remove intermediate containers even when a step fails (always done here)
    force_rm: bool = True


@record
class StageResult:
    image: "Image | None"
    #: the image config's "config" object
    config: dict


class _State:
    """A stage as it runs."""

    def __init__(self, stage: Stage, image: "Image | None", config: dict, history: list[dict], arch: str, os_: str):
        self.stage = stage
        self.image = image
        self.config = config
        self.history = history
        self.arch = arch
        self.os = os_
        #: history entries of steps since the last image (no layers of their own)
        self.pending: list[dict] = []
        #: the layer of a step not yet in an image, and that step's cache key
        self.pending_layer: str | None = None
        self.pending_key: str | None = None
        self.author = ""
        #: ARGs declared in this stage, with their values
        self.args: dict[str, str] = {}
        self.cmd_set = False

    @property
    def diff_ids(self) -> list[str]:
        return list(self.image.layers) if self.image else []

    @property
    def layer_dirs(self) -> list[str]:
        return self.image.layer_dirs if self.image else []

    def env(self) -> dict[str, str]:
        """What $VAR means in this stage: its ARGs, overridden by ENV."""
        out = dict(self.args)
        for item in self.config.get("Env") or []:
            k, _, v = item.partition("=")
            out[k] = v
        return out


class Builder:
    def __init__(self, engine: "Engine", opts: BuildOptions, context: "BuildContext",
                 report: "Callable[[str], None]", run_output: int | None, build_id: str):
        self.engine = engine
        self.opts = opts
        self.context = context
        self.report = (lambda _line: None) if opts.quiet else report
        self.run_output = run_output
        self.build_id = build_id
        self.results: dict[int, StageResult] = {}
        self.made: list[str] = []  # images this build registered, in order
        self.counter = 0
        #: each stage's FROM image (what --squash keeps under the squashed layer)
        self._bases: dict[int, "Image | None"] = {}
        self.used_args: set[str] = set()
        from .cache import LayerCache

        self.cache = LayerCache(engine.images)

    # -- the whole build ------------------------------------------------------------

    def build(self) -> "Image":
        from ..storage.commit import FORMATS

        if self.opts.format not in FORMATS:
            raise InvalidArgument(f"unrecognized image format {self.opts.format!r}: oci or docker")
        if self.opts.pull not in PULL_POLICIES:
            raise InvalidArgument(f"unrecognized pull policy {self.opts.pull!r}: always, missing, never or newer")
        if getattr(self.engine.container_storage, "full_copy", False):
            raise InvalidArgument("build needs the overlay storage driver (this root uses vfs)")
        cf = self.containerfile = parse(self.opts.containerfile, self.opts.filename)
        names = self._names()
        try:
            return self._run(cf, names)
        finally:
            self._cleanup_containers()

    def _names(self) -> list[str]:
        from ..storage.images import normalize_name

        return [normalize_name(t) for t in self.opts.tags]

    def _run(self, cf: Containerfile, names: list[str]) -> "Image":
        target = self._target(cf)
        needed = self._needed_stages(cf, target)
        global_args = self._global_args(cf)
        total = len(cf.stages)
        final: "Image | None" = None
        for stage in cf.stages[: target.index + 1]:
            if stage.index not in needed:
                continue
            prefix = f"[{stage.index + 1}/{total}] " if total > 1 else ""
            last = stage is target
            final = self._stage(cf, stage, global_args, prefix, names if last else None, last)
        assert final is not None
        unused = sorted(set(self.opts.build_args) - self.used_args - set(PREDEFINED_ARGS))
        if unused:
            self.report(f"[Warning] one or more build args were not consumed: {unused}")
        if not self.opts.layers:
            self._drop_intermediates(keep=final.id)
        if names:
            for n in names:
                self.report(f"Successfully tagged {n}")
        failpoint("build.after-tag")
        self.report(final.id)
        return final

    def _target(self, cf: Containerfile) -> Stage:
        if not self.opts.target:
            return cf.stages[-1]
        s = cf.stage(self.opts.target)
        if s is None or not s.name and not self.opts.target.isdigit():
            raise InvalidArgument(f'building target "{self.opts.target}": target stage "{self.opts.target}" not found')
        return s

    def _needed_stages(self, cf: Containerfile, target: Stage) -> set[int]:
        """The target and the stages it takes from (FROM, COPY --from, RUN --mount from=)."""
        needed = {target.index}
        todo = [target]
        while todo:
            s = todo.pop()
            refs = [s.base]
            for ins in s.instructions:
                refs += ins.flag_all("from")
                for m in ins.flag_all("mount"):
                    refs += [kv.split("=", 1)[1] for kv in m.split(",") if kv.startswith("from=")]
            for r in refs:
                dep = cf.stage(r)
                if dep is not None and dep.index < s.index and dep.index not in needed:
                    needed.add(dep.index)
                    todo.append(dep)
        return needed

    def _global_args(self, cf: Containerfile) -> dict[str, str]:
        out: dict[str, str] = {}
        for ins in cf.global_args:
            for k, v in key_values(ins, out, cf.escape):
                if k in self.opts.build_args:
                    out[k] = self.opts.build_args[k]
                    self.used_args.add(k)
                elif v is not None:
                    out[k] = v
        return out

    # -- a stage --------------------------------------------------------------------

    def _stage(self, cf: Containerfile, stage: Stage, global_args: dict[str, str], prefix: str,
               names: list[str] | None, last: bool) -> "Image":
        steps = 1 + len(stage.instructions)
        self.report(f"{prefix}STEP 1/{steps}: {stage.text}")
        state = self._from(cf, stage, global_args)
        self._bases[stage.index] = state.image
        for trigger in (state.config.pop("OnBuild", None) or []):
            self._onbuild(cf, state, trigger)
        for i, ins in enumerate(stage.instructions):
            self.report(f"{prefix}STEP {i + 2}/{steps}: {ins.text}")
            final_step = i == len(stage.instructions) - 1
            try:
                self._step(cf, state, ins, commit=self.opts.layers and not (final_step and last))
            except (ContainerfileError, BuildError):
                raise
            except PypodError as e:
                raise BuildError(f'building at STEP "{ins.text}": {e}') from None
        if last:
            self.report(f"{prefix}COMMIT {self.opts.tags[0] if self.opts.tags else ''}".rstrip())
            img = self._commit_final(state, names or [])
            self.report(f"--> {img.id[:11]}")
        elif state.pending or state.pending_layer or state.image is None:
            img = self._commit(state, state.pending_key, "")
            self.report(f"--> {img.id[:11]}")
        else:
            img = state.image
        self.results[stage.index] = StageResult(img, dict(state.config))
        return img

    def _from(self, cf: Containerfile, stage: Stage, global_args: dict[str, str]) -> _State:
        ref = expand(stage.base, global_args, cf.escape)
        dep = cf.stage(ref)
        if dep is not None and dep.index < stage.index:
            res = self.results[dep.index]
            img = res.image
            return _State(stage, img, dict(res.config), list(img.history) if img else [], img.architecture if img else _arch(), "linux")
        if ref.lower() == "scratch":
            return _State(stage, None, {}, [], _arch(), "linux")
        img = self._base_image(ref, stage.platform and expand(stage.platform, global_args, cf.escape))
        return _State(stage, img, dict(img.config), [dict(h) for h in img.history], img.architecture, img.os)

    def _base_image(self, ref: str, platform: str = "") -> "Image":
        policy = {"ifmissing": "missing", "true": "always", "false": "missing", "ifnewer": "newer"}.get(self.opts.pull, self.opts.pull)
        images = self.engine.images
        if policy != "always":
            try:
                return images.lookup(ref)
            except NoSuchImage:
                if policy == "never":
                    raise NoSuchImage(f"{ref}: image not known") from None
        except_pull = None
        try:
            return self.engine.pull(ref, platform=(platform or self.opts.platform or None), **self.opts.registry)
        except PypodError as e:
            except_pull = e
        if policy in ("newer",):
            try:
                return images.lookup(ref)
            except NoSuchImage:
                pass
        raise BuildError(f'creating build container: initializing source docker://{ref}: {except_pull}')

    def _onbuild(self, cf: Containerfile, state: _State, trigger: str) -> None:
        sub = parse(f"FROM scratch\n{trigger}\n", f"{cf.filename} (ONBUILD of the base image)")
        for ins in sub.stages[0].instructions:
            self._step(cf, state, ins, commit=False)

    # -- an instruction ---------------------------------------------------------------

    def _step(self, cf: Containerfile, state: _State, ins: Instruction, commit: bool) -> None:
        kw = ins.keyword
        if kw in ("RUN", "COPY", "ADD"):
            self._layer_step(cf, state, ins, commit)
            return
        env = state.env()
        created_by = f"/bin/sh -c #(nop) {ins.text}"
        cfg = state.config
        if kw == "ARG":
            for k, v in key_values(ins, env, cf.escape):
                if k in self.opts.build_args:
                    state.args[k] = self.opts.build_args[k]
                    self.used_args.add(k)
                elif v is not None:
                    state.args[k] = v
        elif kw == "ENV":
            from ..proto.image_changes import _merge_env

            cfg["Env"] = _merge_env(list(cfg.get("Env") or []), [f"{k}={v}" for k, v in key_values(ins, env, cf.escape)])
        elif kw == "LABEL":
            cfg["Labels"] = {**(cfg.get("Labels") or {}), **dict(key_values(ins, env, cf.escape))}
        elif kw == "MAINTAINER":
            state.author = ins.args
        elif kw == "WORKDIR":
            path = expand(ins.args, env, cf.escape, f"line {ins.line}")
            if not path:
                raise self._bad(cf, ins, "WORKDIR needs a path")
            cfg["WorkingDir"] = os.path.normpath(os.path.join(cfg.get("WorkingDir") or "/", path))
        elif kw == "USER":
            user = expand(ins.args, env, cf.escape)
            if not user:
                raise self._bad(cf, ins, "USER needs a user name or ID")
            cfg["User"] = user
        elif kw == "EXPOSE":
            for port in arg_list(ins, env, cf.escape):
                cfg.setdefault("ExposedPorts", {})[self._port(cf, ins, port)] = {}
        elif kw == "VOLUME":
            vols = arg_list(ins, env, cf.escape)
            if not vols:
                raise self._bad(cf, ins, "VOLUME needs at least one path")
            for v in vols:
                cfg.setdefault("Volumes", {})[v] = {}
        elif kw in ("CMD", "ENTRYPOINT"):
            cmd = ins.exec_form if ins.exec_form is not None else [*(cfg.get("Shell") or DEFAULT_SHELL), ins.args]
            if kw == "CMD":
                cfg["Cmd"] = cmd
                state.cmd_set = True
            else:
                cfg["Entrypoint"] = cmd
                if not state.cmd_set:
                    cfg.pop("Cmd", None)
        elif kw == "SHELL":
            if ins.exec_form is None or not ins.exec_form:
                raise self._bad(cf, ins, "SHELL requires the arguments to be in JSON form")
            cfg["Shell"] = ins.exec_form
        elif kw == "STOPSIGNAL":
            sig = expand(ins.args, env, cf.escape)
            from ..proto.signals import parse_signal

            try:
                parse_signal(sig)
            except PypodError:
                raise self._bad(cf, ins, f"invalid stop signal {sig!r}") from None
            cfg["StopSignal"] = sig
        elif kw == "HEALTHCHECK":
            cfg["Healthcheck"] = self._healthcheck(cf, ins, cfg)
        elif kw == "ONBUILD":
            cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), ins.args]
        state.pending.append({"created_by": created_by, "empty_layer": True})
        self._cached_commit(state, ins, created_by, None, (), commit)

    def _bad(self, cf: Containerfile, ins: Instruction, why: str) -> ContainerfileError:
        return ContainerfileError(f"{cf.filename}:{ins.line}: {why}")

    def _port(self, cf: Containerfile, ins: Instruction, port: str) -> str:
        num, _, proto = port.partition("/")
        lo, _, hi = num.partition("-")
        ok = lo.isdigit() and 0 < int(lo) < 65536 and (not hi or (hi.isdigit() and int(lo) <= int(hi) < 65536))
        if not ok or proto.lower() not in ("", "tcp", "udp", "sctp"):
            raise self._bad(cf, ins, f"invalid containerPort: {port}")
        return f"{num}/{(proto or 'tcp').lower()}"

    def _healthcheck(self, cf: Containerfile, ins: Instruction, cfg: dict) -> dict:
        from ..proto.k8s_log import parse_go_duration as parse_duration_ns

        args = ins.args.strip()
        if args.upper() == "NONE":
            return {"Test": ["NONE"]}
        word, _, rest = args.partition(" ")
        if word.upper() != "CMD" or not rest.strip():
            raise self._bad(cf, ins, "HEALTHCHECK must be NONE or CMD followed by a command")
        rest = rest.strip()
        try:
            arr = json.loads(rest) if rest.startswith("[") else None
        except ValueError:
            arr = None
        test = ["CMD", *arr] if isinstance(arr, list) else ["CMD-SHELL", rest]
        out: dict = {"Test": test}
        for name, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod"),
                          ("start-interval", "StartInterval")):
            v = ins.flag(name)
            if v is not None:
                try:
                    out[key] = parse_duration_ns(v)
                except (ValueError, PypodError):
                    raise self._bad(cf, ins, f"HEALTHCHECK --{name}: invalid duration {v!r}") from None
        if ins.flag("retries") is not None:
            r = ins.flag("retries")
            if not r.isdigit() or int(r) < 1:
                raise self._bad(cf, ins, f"HEALTHCHECK --retries must be at least 1, not {r!r}")
            out["Retries"] = int(r)
        return out

    # -- steps that make a layer ------------------------------------------------------

    def _layer_step(self, cf: Containerfile, state: _State, ins: Instruction, commit: bool) -> None:
        env = state.env()
        if ins.keyword == "RUN":
            argv, run_env, inputs = self._run_command(cf, state, ins)
            created_by = " ".join(argv) if ins.exec_form is None else json.dumps(argv)
            key_parts = [created_by, *run_env, *inputs]
            do = lambda: self._run_container(cf, state, ins, argv, run_env)  # noqa: E731
        else:
            plan = self._copy_plan(cf, state, ins, env)
            created_by = f"/bin/sh -c #(nop) {ins.keyword} {plan.describe}"
            key_parts = [ins.keyword, plan.digest, plan.describe]
            do = lambda: self._copy(state, plan)  # noqa: E731
        self._cached_commit(state, ins, created_by, do, key_parts, commit)

    def _cached_commit(self, state: _State, ins: Instruction, created_by: str, do, key_parts: list[str] = (),
                       commit: bool = True) -> None:
        """Run a step (do() makes its layer; None: it only changed the config)
        unless the cache has its image; commit: make the step's image now
        (the last step's waits for the final commit)."""
        from .cache import step_key

        parent = state.image.id if state.image else "scratch"
        key = step_key(parent, json.dumps(state.config, sort_keys=True), ins.text, created_by, *key_parts)
        if self.opts.layers and not self.opts.no_cache:
            hit = self.cache.lookup(key)
            if hit is not None:
                self.report(f"--> Using cache {hit.id}")
                state.image = hit
                state.config = dict(hit.config)
                state.history = [dict(h) for h in hit.history]
                state.pending = []
                if commit:
                    self.report(f"--> {hit.id[:11]}")
                return
        if do is not None:
            state.pending_layer = do()
            state.pending.append({"created_by": created_by, **({} if state.pending_layer else {"empty_layer": True})})
        if not self.opts.layers:
            if do is not None:
                self._commit(state, None, "")  # an image for the next RUN to run on, gone when the build ends
            return
        state.pending_key = key
        if commit:
            img = self._commit(state, key, "")
            self.report(f"--> {img.id[:11]}")

    def _run_command(self, cf: Containerfile, state: _State, ins: Instruction) -> tuple[list[str], list[str], list[str]]:
        """(argv, the build args RUN sees as variables, other inputs of the step)."""
        shell = state.config.get("Shell") or DEFAULT_SHELL
        inputs = []
        if ins.exec_form is not None:
            argv = list(ins.exec_form)
        else:
            script = ins.args
            if ins.heredocs:
                only = all(w.startswith("<<") for w in script.split())
                if only:
                    script = "".join(d.body for d in ins.heredocs)
                else:
                    script += "\n" + "".join(f"{d.body}{d.name}\n" for d in ins.heredocs)
                inputs += [d.body for d in ins.heredocs]
            argv = [*shell, script]
        env_names = {e.split("=", 1)[0] for e in state.config.get("Env") or []}
        run_env = [f"{k}={v}" for k, v in sorted(state.args.items()) if k not in env_names]
        inputs += [f"network={self.opts.network}", *ins.flag_all("mount"), *self.opts.volumes]
        return argv, run_env, inputs

    def _run_container(self, cf: Containerfile, state: _State, ins: Instruction, argv: list[str],
                       run_env: list[str]) -> str | None:
        from ..engine.attach import AttachStreams
        from ..engine.container import ContainerConfig
        from ..storage.commit import layer_from_tree

        image = state.image if state.image is not None and not state.pending else self._commit(state, None, "")
        self.counter += 1
        name = f"pypod-build-{self.build_id}-{self.counter}"
        cfg = ContainerConfig(
            name=name, image=image.id, entrypoint=argv[:1], command=argv[1:], env=run_env,
            workdir=state.config.get("WorkingDir") or "/", user=state.config.get("User") or "",
            network=self.opts.network if self.opts.network not in ("", "default", "private") else "",
            labels={"io.pypod.build": self.build_id}, log_driver="none",
        )
        cfg.networking.add_hosts = list(self.opts.add_hosts)
        from .mounts import run_mounts

        cfg.mounts = run_mounts(self, state, ins)
        ctr = self.engine.create_container(cfg)
        out = self.run_output
        if out is None:
            out = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        try:
            code = ctr.start_attached(AttachStreams(stdin=None, stdout=out, stderr=out), claim_exit=True)
            ctr.finish_exit()
            failpoint("build.after-run")
            if code != 0:
                raise BuildError(f'building at STEP "{ins.text}": while running runtime: exit status {code}')
            from ..engine.commit import _engine_stub

            upper = self.engine.container_storage.upper_dir(ctr.id)
            _drop_mount_stubs(upper, [m.destination for m in cfg.mounts])
            if not _changed(upper, _engine_stub):
                return None  # nothing changed: no layer (an empty one twice in an image cannot be stacked)
            with self.engine.images.locked(exclusive=False):
                diff_id = layer_from_tree(self.engine.images, upper, whiteouts=True, skip=_engine_stub)
            BuildLock.note(self.engine, self.build_id, "layers", diff_id)
            failpoint("build.after-layer")
            return diff_id
        finally:
            if self.run_output is None:
                os.close(out)
            try:
                ctr.remove(force=True, volumes=True)
            except PypodError:
                pass

    # -- COPY and ADD ----------------------------------------------------------------

    def _copy_plan(self, cf: Containerfile, state: _State, ins: Instruction, env: dict[str, str]):
        from .copying import plan_copy

        return plan_copy(self, cf, state, ins, env)

    def _copy(self, state: _State, plan) -> str:
        """The step's layer: straight from its sources (copy_layer.py), or,
        for what ADD unpacks or fetches, through a working overlay."""
        from .copy_layer import entries, layer_from_entries
        from .copying import needs_overlay

        if needs_overlay(plan):
            return self._copy_overlay(state, plan)
        root = self.mounted_root(state.image)
        src_root = self.mounted_root(None, plan.from_layers) if plan.from_ref else None
        try:
            items = entries(self, plan, root, src_root)
            with self.engine.images.locked(exclusive=False):
                diff_id = layer_from_entries(self.engine.images, items)
                BuildLock.note(self.engine, self.build_id, "layers", diff_id)
        finally:
            self.unmount_root(root)
            if src_root:
                self.unmount_root(src_root)
        failpoint("build.after-copy")
        return diff_id

    def _copy_overlay(self, state: _State, plan) -> str:
        from ..storage.commit import layer_from_tree
        from .copying import apply_copy

        self.counter += 1
        wid = f"build-{self.build_id}-{self.counter}"
        storage = self.engine.container_storage
        storage.create(wid, None)
        try:
            merged = storage.mount(wid, _Layers(state.layer_dirs))
            try:
                apply_copy(self, plan, merged, state)
            finally:
                storage.unmount(wid)
            failpoint("build.after-copy")
            with self.engine.images.locked(exclusive=False):
                diff_id = layer_from_tree(self.engine.images, storage.upper_dir(wid), whiteouts=True)
                BuildLock.note(self.engine, self.build_id, "layers", diff_id)
                return diff_id
        finally:
            storage.remove(wid)

    # -- images ----------------------------------------------------------------------

    def _commit(self, state: _State, key: str | None, _comment: str, annotations: dict | None = None) -> "Image":
        """Register the state as an image: its parent's layers and history,
        the pending layer and history entries; cached under key; the
        manifest annotated (the final image's --annotation)."""
        from ..storage.commit import _docker_manifest
        from ..storage.images import _now

        when = _now()
        history = [*state.history]
        for h in state.pending:
            history.append({"created": when, **h})
        if not state.pending:
            history.append({"created": when, "created_by": "/bin/sh -c #(nop) ", "empty_layer": True})
        diff_id, state.pending_layer, state.pending_key = state.pending_layer, None, None
        diff_ids = [*state.diff_ids, *([diff_id] if diff_id else [])]
        doc = {"created": when, "architecture": state.arch, "os": state.os, "config": state.config,
               "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}
        if state.author:
            doc["author"] = state.author
        data = json.dumps(doc, sort_keys=True).encode()
        store = self.engine.images
        with store.locked(exclusive=False):
            manifest = _docker_manifest(store, data, diff_ids) if self.opts.format == "docker" else None
            img = store.register(data, [], manifest, annotations=annotations)
        self.made.append(img.id)
        BuildLock.note(self.engine, self.build_id, "images", img.id)
        if key:
            self.cache.record(key, img.id)
        state.image = img
        state.history = history
        state.pending = []
        failpoint("build.after-commit")
        return img

    def _commit_final(self, state: _State, names: list[str]) -> "Image":
        """The result: labels, annotations and --env of the build on the last
        step's image (or a new one when they change it), squashed if asked, named."""
        from .cache import step_key

        if self.opts.annotations and self.opts.format == "docker":
            self.report("WARN: docker-format manifests carry no annotations: --annotation is ignored")
        extra = dict(self.opts.labels)
        if extra:
            state.config["Labels"] = {**(state.config.get("Labels") or {}), **extra}
        if self.opts.env:
            from ..proto.image_changes import _merge_env

            state.config["Env"] = _merge_env(list(state.config.get("Env") or []), [e if "=" in e else f"{e}={os.environ.get(e, '')}" for e in self.opts.env])
        if self.opts.squash or self.opts.squash_all:
            img = self._squash(state)
        elif (state.image is None or state.pending or state.pending_layer or state.image.config != state.config
              or self.opts.annotations):
            key = step_key(state.image.id if state.image else "scratch", "final", json.dumps(state.config, sort_keys=True),
                           json.dumps(state.pending, sort_keys=True), json.dumps(self.opts.annotations, sort_keys=True))
            hit = self.cache.lookup(key) if self.opts.layers and not self.opts.no_cache else None
            if hit is not None:
                self.report(f"--> Using cache {hit.id}")
                img = hit
            else:
                # annotated: cached under the key that names them, not the last step's
                cache_key = key if self.opts.annotations else (state.pending_key or key)
                img = self._commit(state, cache_key if self.opts.layers else None, "", self.opts.annotations)
        else:
            img = state.image
        if names:
            store = self.engine.images
            for n in names:
                store.tag(img.id, n)
            img = store.get(img.id) or img
            self.engine.events.write("image", "build", img.id, names[0])
        return img

    def _squash(self, state: _State) -> "Image":
        """--squash-all: the whole root filesystem in one layer on no parent;
        --squash: this build's new layers in one, on the base image's."""
        from ..storage.commit import layer_from_tree

        if state.pending_layer or state.pending:
            self._commit(state, None, "")
        base = None if self.opts.squash_all else self._bases.get(state.stage.index)
        base_layers = list(base.layers) if base else []
        new_dirs = state.layer_dirs[len(base_layers):]
        self.counter += 1
        wid = f"build-{self.build_id}-{self.counter}"
        storage = self.engine.container_storage
        storage.create(wid, None)
        try:
            if self.opts.squash_all:
                merged = storage.mount(wid, _Layers(state.layer_dirs))
                try:
                    with self.engine.images.locked(exclusive=False):
                        diff_id = layer_from_tree(self.engine.images, merged, whiteouts=False)
                finally:
                    storage.unmount(wid)
            else:
                from .squash import merge_layers

                tree = storage.upper_dir(wid)
                merge_layers(new_dirs, tree)
                with self.engine.images.locked(exclusive=False):
                    diff_id = layer_from_tree(self.engine.images, tree, whiteouts=True)
        finally:
            storage.remove(wid)
        squashed = _State(state.stage, base, state.config, [dict(h) for h in base.history] if base else [],
                          state.arch, state.os)
        squashed.pending = [{"created_by": "/bin/sh -c #(nop) squashed build"}]
        squashed.pending_layer = diff_id
        return self._commit(squashed, None, "")

    def _drop_intermediates(self, keep: str) -> None:
        for iid in reversed(self.made):
            if iid == keep:
                continue
            img = self.engine.images.get(iid)
            if img is None or img.names:
                continue
            try:
                self.engine.images.remove(iid)
            except PypodError:
                pass

    def mounted_root(self, img: "Image | None", layer_dirs: list[str] | None = None) -> str:
        """An image's root filesystem mounted read-only (until unmount_root,
        or the build's end: RUN --mount=type=bind,from=...)."""
        import tempfile

        mnt = tempfile.mkdtemp(prefix=f"build-from-{self.build_id}-", dir=os.path.join(self.engine.config.storage_dir, "tmp"))
        dirs = layer_dirs if layer_dirs is not None else (img.layer_dirs if img else [])
        try:
            self.engine.container_storage.mount_layers(dirs, mnt, what="an image's root filesystem")
        except BaseException:
            os.rmdir(mnt)
            raise
        return mnt

    def unmount_root(self, mnt: str) -> None:
        from ..storage.overlay import umount

        umount(mnt)
        os.rmdir(mnt)

    def _cleanup_containers(self) -> None:
        sweep_build(self.engine, self.build_id, images=False)


def run_build(engine: "Engine", opts: BuildOptions, *, context_dir: str | None = None, context_stream=None,
              ignorefile: str = "", report: "Callable[[str], None]" = print, run_output: int | None = 1) -> "Image":
    """Build: the context a directory, a tar (path or stream) or none;
    report(line) gets the progress lines, run_output (an fd) the RUN output."""
    run = begin_build(engine, opts, context_dir=context_dir, context_stream=context_stream, ignorefile=ignorefile)
    try:
        return run.build(report, run_output)
    finally:
        run.close()


def begin_build(engine: "Engine", opts: BuildOptions, *, context_dir: str | None = None, context_stream=None,
                ignorefile: str = "") -> "BuildRun":
    """The part of a build that can fail on bad input before anything runs:
    the build's lock taken, its context opened, its Containerfile found and
    parsed.  The REST routes answer 400 for what fails here."""
    from .context import open_context

    build_id = _secrets.token_hex(6)
    lock = BuildLock(engine, build_id).__enter__()
    try:
        context = open_context(engine, context_dir, ignorefile, context_stream, build_id)
        try:
            if not opts.containerfile:
                opts.containerfile, opts.filename = _find_containerfile(context, opts.filename if opts.filename != "Containerfile" else "")
            parse(opts.containerfile, opts.filename)
        except BaseException:
            context.close()
            raise
    except BaseException:
        lock.__exit__(None, None, None)
        raise
    return BuildRun(engine, opts, context, lock, build_id)


class BuildRun:
    def __init__(self, engine: "Engine", opts: BuildOptions, context: "BuildContext", lock: "BuildLock", build_id: str):
        self.engine, self.opts, self.context, self.lock, self.build_id = engine, opts, context, lock, build_id

    def build(self, report: "Callable[[str], None]", run_output: int | None) -> "Image":
        return Builder(self.engine, self.opts, self.context, report, run_output, self.build_id).build()

    def close(self) -> None:
        try:
            self.context.close()
        finally:
            self.lock.__exit__(None, None, None)


def read_containerfile(path: str, root: str | None) -> tuple[str, str]:
    """The text of a Containerfile named by path (relative to root when
    given, else to the current directory), and the name errors use."""
    if path == "-":
        import sys

        return sys.stdin.read(), "-"
    full = path if root is None or os.path.isabs(path) else os.path.join(root, path)
    try:
        with open(full, encoding="utf-8", errors="replace") as f:
            return f.read(), path
    except IsADirectoryError:
        raise InvalidArgument(f"the Containerfile {path} is a directory") from None
    except OSError as e:
        raise InvalidArgument(f"reading the Containerfile {path}: {e.strerror or e}") from None


def _find_containerfile(context: "BuildContext", name: str) -> tuple[str, str]:
    if name:
        return read_containerfile(context.resolve(name, "the Containerfile"), None)[0], name
    for name in ("Containerfile", "Dockerfile"):
        path = os.path.join(context.root, name)
        if os.path.isfile(path):
            return read_containerfile(path, None)[0], name
    raise InvalidArgument(f"no Containerfile or Dockerfile specified or found in context directory, {context.root}: "
                          "no such file or directory")


class _Layers:
    """What ContainerStorage.mount reads of an image: its layer dirs."""

    def __init__(self, layer_dirs: list[str]):
        self.layer_dirs = layer_dirs


def _arch() -> str:
    from ..storage.images import host_arch

    return host_arch()


def _drop_mount_stubs(upper: str, targets: list[str]) -> None:
    """The empty files and directories made in the upper dir only to mount
    RUN's mounts on, and the directories made only to hold them, go: they
    are not the step's changes."""
    for target in sorted(targets, key=len, reverse=True):
        rel = target.strip("/")
        while rel:
            path = os.path.join(upper, rel)
            try:
                st = os.lstat(path)
            except OSError:
                break
            if stat.S_ISDIR(st.st_mode) and not os.listdir(path):
                os.rmdir(path)
            elif stat.S_ISREG(st.st_mode) and st.st_size == 0 and rel == target.strip("/"):
                os.unlink(path)
            else:
                break
            rel = os.path.dirname(rel)


def _changed(upper: str, skip) -> bool:
    """Does the upper dir hold anything but what skip leaves out?"""
    for dirpath, dirnames, filenames in os.walk(upper):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if not skip(os.path.relpath(path, upper), path, os.lstat(path)):
                return True
    return False


# -- a build's own record: what a killed build leaves is found and removed -------------------


class BuildLock:
    """runroot/builds/<id>.lock, flocked while the build runs; beside it
    <id>.images lists the images it made (for a build without --layers,
    whose intermediate images are not cache entries)."""

    def __init__(self, engine: "Engine", build_id: str):
        self.engine = engine
        self.build_id = build_id
        self.fd = -1

    @staticmethod
    def dir(engine: "Engine") -> str:
        return os.path.join(engine.config.runroot, "builds")

    def __enter__(self):
        import fcntl

        from .. import private

        sweep_dead_builds(self.engine)
        d = self.dir(self.engine)
        private.makedirs(d)
        self.fd = os.open(os.path.join(d, f"{self.build_id}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        d = self.dir(self.engine)
        for suffix in (".images", ".layers", ".lock"):
            try:
                os.unlink(os.path.join(d, self.build_id + suffix))
            except FileNotFoundError:
                pass
        os.close(self.fd)

    @staticmethod
    def note(engine: "Engine", build_id: str, kind: str, ident: str) -> None:
        """Add to <id>.images or <id>.layers: what the sweep of a killed build removes if nobody uses it."""
        path = os.path.join(BuildLock.dir(engine), f"{build_id}.{kind}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, f"{ident}\n".encode())
        finally:
            os.close(fd)

    @staticmethod
    def noted(engine: "Engine", build_id: str, kind: str) -> list[str]:
        try:
            with open(os.path.join(BuildLock.dir(engine), f"{build_id}.{kind}")) as f:
                return [line.strip() for line in f if line.strip()]
        except FileNotFoundError:
            return []


def sweep_dead_builds(engine: "Engine") -> list[str]:
    """Remove what builds killed mid-way left: their RUN containers, working
    mounts and context copies (and nothing of a build still running)."""
    import fcntl

    d = BuildLock.dir(engine)
    gone = []
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        names = []
    live = set()
    for n in names:
        if not n.endswith(".lock"):
            continue
        bid = n[:-5]
        fd = os.open(os.path.join(d, n), os.O_RDWR | os.O_CLOEXEC)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                live.add(bid)
                continue
            sweep_build(engine, bid, images=True)
            for suffix in (".images", ".layers", ".lock"):
                try:
                    os.unlink(os.path.join(d, bid + suffix))
                except FileNotFoundError:
                    pass
            gone.append(bid)
        finally:
            os.close(fd)
    # working mounts of builds whose record the run root lost (a reboot)
    storage = engine.container_storage
    for wid in storage.ids():
        if wid.startswith("build-") and wid.split("-")[1] not in live:
            storage.remove(wid)
    return gone


def sweep_build(engine: "Engine", build_id: str, images: bool) -> None:
    prefix = f"pypod-build-{build_id}-"
    for ctr in engine.containers(sync=False):
        if ctr.name.startswith(prefix):
            try:
                ctr.remove(force=True, volumes=True)
            except PypodError:
                pass
    storage = engine.container_storage
    for wid in storage.ids():
        if wid.startswith(f"build-{build_id}-"):
            storage.remove(wid)
    tmp = os.path.join(engine.config.storage_dir, "tmp")
    try:
        for n in os.listdir(tmp):
            if n.startswith(f"build-context-{build_id}-") or n.startswith(f"build-from-{build_id}-"):
                from ..storage.overlay import umount
                from ..storage.tree import remove_tree

                umount(os.path.join(tmp, n))
                remove_tree(os.path.join(tmp, n), ignore_errors=True)
    except FileNotFoundError:
        pass
    if images:
        # images of a build killed before its end: unnamed and not a cache entry, they are nobody's
        ids = BuildLock.noted(engine, build_id, "images")
        cached = {r[0] for r in engine.images._db.execute("SELECT image_id FROM build_cache")} if ids else set()
        for iid in reversed(ids):
            img = engine.images.get(iid)
            if img is None or img.names or iid in cached:
                continue
            if any(c.config.image_id == iid for c in engine.containers(sync=False)):
                continue
            try:
                engine.images.remove(iid)
            except PypodError:
                pass
        # and layers it made that no image took
        engine.images.remove_unused_layers(BuildLock.noted(engine, build_id, "layers"))
