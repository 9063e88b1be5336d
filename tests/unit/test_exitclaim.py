"""The exit claim (engine/exitclaim.py) with real files and flock, no containers."""

from __future__ import annotations

import os

from pypod.engine import exitclaim
from pypod.engine.exitclaim import CLAIM_FILE, ExitClaim, finished_by_claimant, remove_claimed_dir


def _run_dir(tmp_path):
    d = tmp_path / "ctr"
    (d / "exit").mkdir(parents=True)
    for name in ("a", "b", "oci-log", "exit/ctr"):
        (d / name).write_text("x")
    return d


def test_the_claim_goes_last_with_its_directory_and_a_newcomer_never_sees_one_without_the_other(tmp_path,
                                                                                                  monkeypatch):
    d = _run_dir(tmp_path)
    claim = ExitClaim(str(d))
    claim.take()
    seen = []
    import pypod.storage.tree as tree

    real = tree.remove_tree_at

    def watching(dfd, name):
        # what an exit command starting now would conclude: not yet finished
        # (the claim is there, held: it would wait), never "ours to do"
        seen.append((name, os.path.exists(d / CLAIM_FILE), os.path.isdir(d)))
        real(dfd, name)

    monkeypatch.setattr(tree, "remove_tree_at", watching)
    remove_claimed_dir(str(d))
    # the rest first, then (the last call) the directory with nothing but the claim in it
    assert sorted(n for n, _c, _d in seen[:-1]) == ["a", "b", "exit", "oci-log"] and seen[-1][0] == "ctr"
    assert all(has_claim and has_dir for _n, has_claim, has_dir in seen)
    assert not d.exists()
    claim.release(done=True)
    assert finished_by_claimant(str(d))


def test_without_a_claim_the_work_is_the_exit_commands(tmp_path):
    d = _run_dir(tmp_path)
    assert not finished_by_claimant(str(d))  # a detached run: nobody claimed it
    claim = ExitClaim(str(d))
    claim.take()
    claim.release(done=False)  # the claimant detached, or failed
    assert not finished_by_claimant(str(d))
    remove_claimed_dir(str(d))
    remove_claimed_dir(str(d))  # gone already is fine
    assert finished_by_claimant(str(d)) and exitclaim.CLAIM_FILE == CLAIM_FILE


def _exit_command(d, marker, env=None):
    """The wrapped exit command, with `touch marker` for `pypod container cleanup`."""
    import subprocess

    return subprocess.Popen(exitclaim.exit_command(str(d), ["/bin/touch", str(marker)]), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_the_shell_exit_command_skips_the_cleanup_only_when_a_claimant_finished(tmp_path):
    import time

    marker = tmp_path / "cleanup-ran"

    def outcome(d, env=None):
        marker.unlink(missing_ok=True)
        p = _exit_command(d, marker, env)
        assert p.wait(timeout=10) == 0, p.stderr.read()
        return marker.exists()

    d = _run_dir(tmp_path)
    assert outcome(d)  # nobody claimed it (a detached run): the exit command's work
    (d / CLAIM_FILE).write_text("")
    assert outcome(d)  # a claim nobody holds: its claimant died
    os.unlink(d / CLAIM_FILE)
    remove_claimed_dir(str(d))
    assert not outcome(d)  # no claim and no directory: finished already

    for done in (True, False):
        d = _run_dir(tmp_path)
        claim = ExitClaim(str(d))
        claim.take()
        marker.unlink(missing_ok=True)
        p = _exit_command(d, marker)
        time.sleep(0.3)
        assert p.poll() is None  # waits on the claimant, however long it takes
        if done:
            remove_claimed_dir(str(d))
        claim.release(done=done)
        assert p.wait(timeout=10) == 0
        # finished: nothing to do; let go unfinished (detached, failed): the work is the exit command's
        assert marker.exists() is not done
        remove_claimed_dir(str(d))


def test_without_flock_the_shell_leaves_the_decision_to_pypod(tmp_path):
    """A shell that cannot wait on the claim does not guess: `pypod container
    cleanup` (here: touch) looks again, and waits in Python."""
    d = _run_dir(tmp_path)
    claim = ExitClaim(str(d))
    claim.take()  # held: with flock the shell would wait
    (tmp_path / "bin").mkdir()
    marker = tmp_path / "cleanup-ran"
    p = _exit_command(d, marker, env={"PATH": str(tmp_path / "bin")})
    assert p.wait(timeout=10) == 0 and marker.exists()
    claim.release(done=True)
