"""The store and the locks with real SQLite and real flock, no containers."""

import multiprocessing
import os
import time

import pytest

from pypod.engine.locks import FileLock
from pypod.engine.store import Store
from pypod.errors import InvalidArgument, NameInUse, NoSuchContainer


def test_lookup_by_name_id_and_prefix(tmp_path):
    s = Store(str(tmp_path / "db"))
    s.add_container("abc123" + "0" * 58, "one", {}, {}, 1.0)
    s.add_container("abd456" + "0" * 58, "two", {}, {}, 2.0)
    assert s.lookup_id("one").startswith("abc123")
    assert s.lookup_id("abd").startswith("abd456")
    with pytest.raises(InvalidArgument, match="more than one result"):
        s.lookup_id("ab")
    with pytest.raises(NoSuchContainer, match='no container with name or ID "nope" found: no such container'):
        s.lookup_id("nope")


def test_name_in_use(tmp_path):
    s = Store(str(tmp_path / "db"))
    s.add_container("a" * 64, "x", {}, {}, 1.0)
    with pytest.raises(NameInUse, match='the container name "x" is already in use'):
        s.add_container("b" * 64, "x", {}, {}, 1.0)
    assert s.container_ids() == ["a" * 64]


def test_wal_mode(tmp_path):
    s = Store(str(tmp_path / "db"))
    assert s._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _hold(path, q):
    lock = FileLock(path)
    lock.acquire()
    q.put("held")
    time.sleep(0.3)
    lock.unlink()
    lock.release()


def test_lock_excludes_other_processes_and_survives_unlink(tmp_path):
    path = str(tmp_path / "c.lock")
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=_hold, args=(path, q))
    p.start()
    assert q.get(timeout=5) == "held"
    t0 = time.monotonic()
    lock = FileLock(path)
    lock.acquire()  # waits for the holder, then retries on the fresh file
    waited = time.monotonic() - t0
    assert waited > 0.1
    assert os.path.exists(path)
    assert os.stat(path).st_ino == os.fstat(lock._fd).st_ino
    lock.release()
    p.join()


def test_lock_is_reentrant_in_one_object(tmp_path):
    lock = FileLock(str(tmp_path / "l"))
    with lock:
        with lock:
            pass
        assert lock._fd >= 0
    assert lock._fd == -1


def test_a_suspended_lock_is_free_meanwhile_and_held_at_its_depth_again(tmp_path):
    import fcntl

    path = str(tmp_path / "c.lock")
    lock = FileLock(path)

    def free() -> bool:
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        finally:
            os.close(fd)

    with lock, lock:
        assert not free()
        with pytest.raises(RuntimeError):
            with lock.suspended():
                assert free()
                raise RuntimeError("held again even so")
        assert not free() and lock._depth == 2
    assert free() and lock._depth == 0
    with lock.suspended():  # not held: nothing to let go of, nothing taken after
        pass
    assert free()


def test_containers_mentioning_reads_only_the_configs_that_name_it(tmp_path):
    s = Store(str(tmp_path / "db"))
    a, b, c = "a" * 64, "b" * 64, "c" * 64
    s.add_container(a, "a", {"name": "a", "depends_on": []}, {"status": "running"}, 1.0)
    s.add_container(b, "b", {"name": "b", "depends_on": [a]}, {"status": "created"}, 2.0)
    s.add_container(c, "c", {"name": "c", "network": f"container:{a}", "depends_on": [a]}, {}, 3.0)
    # a's own config does not hold its ID; b's and c's do, oldest first
    assert [cfg["name"] for cfg, _st in s.containers_mentioning(a)] == ["b", "c"]
    assert s.containers_mentioning(b) == [] and s.containers_mentioning("nothing like it") == []
    assert s.containers_mentioning(a)[0] == ({"name": "b", "depends_on": [a]}, {"status": "created"})


def test_unsettled_exec_sessions_are_the_ones_a_reap_may_change(tmp_path):
    """Finished API sessions stay until their container stops; a reap (on
    every exec) must not decode them all, only the live and one-shot ones."""
    from pypod.engine.execs import ExecConfig, ExecState, ExecStatus
    from pypod.record import asdict

    s = Store(str(tmp_path / "db"))
    cid = "c" * 64
    s.add_container(cid, "ctr", {}, {}, 1.0)
    kinds = {
        "created": (ExecStatus.CREATED, False),
        "running": (ExecStatus.RUNNING, False),
        "stopped": (ExecStatus.STOPPED, False),
        "oneshot-stopped": (ExecStatus.STOPPED, True),
        "oneshot-running": (ExecStatus.RUNNING, True),
    }
    for sid, (status, auto_remove) in kinds.items():
        s.add_exec(sid, cid, asdict(ExecConfig(command=["true"], auto_remove=auto_remove)),
                   ExecState(status=status).to_dict())
    s.add_container("d" * 64, "other", {}, {}, 2.0)
    s.add_exec("elsewhere", "d" * 64, asdict(ExecConfig()), ExecState().to_dict())
    assert sorted(i for i, _c, _s in s.container_execs(cid)) == sorted(kinds)
    assert sorted(s.container_exec_ids(cid)) == sorted(kinds)
    assert sorted(i for i, _c, _s in s.container_execs(cid, unsettled=True)) == [
        "created", "oneshot-running", "oneshot-stopped", "running"]
