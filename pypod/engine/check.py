"""`pypod system check [--repair]`: find, and fix, what a crash or a power
loss left behind, as podman 5's `system check` does for its storage.

Every command already makes the records it touches true (Container.sync);
this looks at everything at once, including what no record names any
more: containers whose record disagrees with the runtime, exec sessions
nobody reaped, mounts nobody recorded, runtime containers, monitors, files
and locks of containers that are gone, half-written or half-removed image
layers and blobs, and images whose layers are damaged.

Without --repair nothing changes; each problem found is reported with the
repair that --repair makes.  Damaged images in use by containers are only
removed with --force, which removes those containers too (podman's rule).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .engine import Engine


class Problem:
    __slots__ = ("kind", "what", "detail", "repair", "needs_force")

    def __init__(self, kind: str, what: str, detail: str, repair: Callable[[], None], needs_force: bool = False):
        self.kind = kind
        self.what = what
        self.detail = detail
        self.repair = repair
        self.needs_force = needs_force

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}: {self.detail}"


def check(engine: "Engine", quick: bool = False, max_age: float = 0.0) -> list[Problem]:
    """Every problem found; nothing is changed until a problem's repair() runs.
    max_age: files no record names count only when older (seconds)."""
    problems: list[Problem] = []
    problems += _containers(engine, quick)
    problems += _orphans_of_containers(engine)
    problems += _images(engine, quick, max_age)
    return problems


# -- containers -----------------------------------------------------------------------


def _containers(engine: "Engine", quick: bool) -> list[Problem]:
    from ..oci.procs import pid_alive
    from . import execs
    from .container import Status

    out = []
    runtime_ids = set(engine.runtime.container_ids())
    for ctr in engine.containers(sync=False):
        st = ctr.state
        rec = st.status
        why = ""
        if rec in (Status.RUNNING, Status.PAUSED, Status.CREATED):
            rs = engine.runtime.container_status(ctr)
            if rs.status != rec.value:
                why = f"recorded {rec.value}, the runtime says {rs.status}"
            elif not ctr._monitor_alive():
                why = f"recorded {rec.value}, but its conmon is gone"
            elif rec != Status.CREATED and not pid_alive(st.pid):
                why = f"recorded {rec.value}, but its process {st.pid} is gone"
        elif rec == Status.STOPPED and not ctr._monitor_alive():
            why = "exited, but nothing cleaned it up (its conmon is gone)"
        elif rec in (Status.CONFIGURED, Status.EXITED) and ctr.id in runtime_ids:
            why = f"recorded {rec.value}, but the runtime still holds it"
        elif rec == Status.CONFIGURED and st.mountpoint:
            why = "an interrupted init left its root filesystem mounted"
        elif rec == Status.REMOVING:
            why = "its removal was interrupted"
        if why:
            out.append(Problem("container", _label(ctr), why,
                               _remover(ctr) if rec == Status.REMOVING else _syncer(ctr)))
        if rec == Status.RUNNING and not quick and execs.stale(ctr):
            out.append(Problem("exec sessions", _label(ctr), "sessions whose process ended or whose pypod died",
                               _syncer(ctr)))
        if not ctr.config.rootfs and ctr.config.image_id and engine.images.get(ctr.config.image_id) is None:
            out.append(Problem("container", _label(ctr), f"its image {ctr.config.image_id[:12]} is gone",
                               _remover(ctr, force=True), needs_force=True))
    return out


def _label(ctr) -> str:
    return f"{ctr.id[:12]} ({ctr.name})"


def _syncer(ctr) -> Callable[[], None]:
    def repair() -> None:
        from ..errors import NoSuchContainer

        try:
            with ctr.locked():
                ctr.sync()
                from . import execs
                from .container import Status

                if ctr.state.status == Status.RUNNING:
                    execs.reap(ctr)
        except NoSuchContainer:
            pass  # a --rm container: syncing it removed it

    return repair


def _remover(ctr, force: bool = True) -> Callable[[], None]:
    def repair() -> None:
        ctr.remove(force=force, timeout=0)

    return repair


# -- what belongs to containers that are gone ---------------------------------------------


def _orphans_of_containers(engine: "Engine") -> list[Problem]:
    from ..oci.procs import conmon_pids

    cfg = engine.config
    known = set(engine.store.container_ids())
    out = []

    class _Gone:  # what the runtime needs of a container: its id
        def __init__(self, cid: str):
            self.id = cid

    for cid in engine.runtime.container_ids():
        if cid not in known:
            def kill_delete(cid=cid) -> None:
                from ..errors import OCIRuntimeError

                try:
                    engine.runtime.kill_container(_Gone(cid), 9, all_processes=True)
                except OCIRuntimeError:
                    pass
                engine.runtime.delete_container(_Gone(cid))

            out.append(Problem("runtime container", cid[:12], "the runtime holds a container pypod has no record of",
                               kill_delete))
    for pid, cid in _conmons(conmon_pids(cfg.runroot, exact=False)):
        if cid and cid not in known:
            out.append(Problem("conmon", f"pid {pid}", f"monitors {cid[:12]}, which pypod has no record of",
                               lambda pid=pid: _kill(pid)))
    storage = engine.container_storage
    for base, what in ((storage.dir, "container storage"), (cfg.containers_dir, "container files"),
                       (os.path.join(cfg.runroot, "containers"), "container run files")):
        for name in _listdir(base):
            if name not in known:
                path = os.path.join(base, name)
                if what == "container storage":
                    out.append(Problem(what, path, "no container has it" + (" (mounted)" if storage.is_mounted(name) else ""),
                                       lambda name=name: storage.remove(name)))
                else:
                    out.append(Problem(what, path, "no container has it", lambda path=path: _remove_tree(path)))
    for base in (cfg.exits_dir, cfg.sockets_dir):
        for name in _listdir(base):
            if name not in known and not engine.store.has_exec_session(name):
                path = os.path.join(base, name)
                out.append(Problem("runtime file", path, "no container or exec session has it",
                                   lambda path=path: _remove_tree(path)))
    for path in engine.stale_locks():
        out.append(Problem("lock", path, "its container is gone", engine.remove_stale_locks))
    # mounts under the storage that no container records
    recorded = {c.state.mountpoint for c in engine.containers(sync=False) if c.state.mountpoint}
    for mnt in _mounts_under(storage.dir):
        if mnt not in recorded and not any(p.what == os.path.dirname(mnt) for p in out):
            cid = os.path.basename(os.path.dirname(mnt))
            out.append(Problem("mount", mnt, "no container records it", lambda cid=cid: storage.unmount(cid)))
    return out


def _conmons(pids: list[int]) -> list[tuple[int, str]]:
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        cid = argv[argv.index("-c") + 1] if "-c" in argv[:-1] else ""
        out.append((pid, cid))
    return out


def _kill(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _remove_tree(path: str) -> None:
    from ..storage.tree import remove_tree

    remove_tree(path, ignore_errors=True)


def _mounts_under(path: str) -> list[str]:
    prefix = os.path.realpath(path) + "/"
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4].replace("\\040", " ")
            if mnt.startswith(prefix):
                out.append(mnt)
    return out


# -- images -----------------------------------------------------------------------------------


def _images(engine: "Engine", quick: bool, max_age: float) -> list[Problem]:
    store = engine.images
    out = []
    now = time.time()
    with store.locked(exclusive=True, sweep=False):  # no adder is midway: what no record names is an orphan
        for path in store.leftovers():
            out.append(Problem("image storage", path, "left by an interrupted load, import or removal",
                               lambda: _sweep(store)))
        for path in store.orphans():
            try:
                age = now - os.lstat(path).st_mtime
            except FileNotFoundError:
                continue
            if age >= max_age:
                # repaired under the lock again: only what is still an orphan then goes
                out.append(Problem("image storage", path, "no image or layer record names it", store.remove_orphans))
    for img in store.list():
        damage = store.damage(img, verify=not quick)
        if damage:
            users = [c for c in engine.containers(sync=False) if c.config.image_id == img.id]
            what = f"{img.id[:12]} ({', '.join(img.names) or '<none>'})"
            detail = damage + (f"; used by {len(users)} container(s)" if users else "")
            out.append(Problem("image", what, detail, _image_remover(engine, img.id), needs_force=bool(users)))
    return out


def _sweep(store) -> None:
    with store.locked(exclusive=True):  # taking it alone sweeps the leftovers
        pass


def _image_remover(engine: "Engine", iid: str) -> Callable[[], None]:
    def repair() -> None:
        engine.remove_image(iid, force=True)

    return repair


def run_repairs(problems: list[Problem], force: bool) -> tuple[list[Problem], list[tuple[Problem, str]]]:
    """Repair what can be: (repaired, [(left alone or failed, why)])."""
    from ..errors import PypodError

    done, left = [], []
    for p in problems:
        if p.needs_force and not force:
            left.append((p, "in use by containers: --force also removes them"))
            continue
        try:
            p.repair()
        except (PypodError, OSError) as e:
            left.append((p, str(e)))
            continue
        done.append(p)
    return done, left
