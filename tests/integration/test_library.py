"""The Python library front door, with real containers."""

from __future__ import annotations

import os

import pytest

from pypod.engine.container import ContainerConfig, Mount
from pypod.errors import AlreadyInState, ContainerRunning, InvalidArgument, InvalidState, NoSuchContainer, NoSuchImage


@pytest.fixture
def engine(pypod):
    eng = pypod.engine()
    yield eng
    eng.close()


def test_run_and_logs(engine):
    ctr, code = engine.run("busybox", ["sh", "-c", "echo lib-out; echo lib-err >&2; exit 2"], name="lib1")
    assert code == 2
    records = list(ctr.logs())
    assert [(r[1], r[2]) for r in records] == [("stdout", b"lib-out\n"), ("stderr", b"lib-err\n")]
    ctr.remove()
    with pytest.raises(NoSuchContainer):
        engine.container("lib1")


def test_followed_log_outlives_the_removal(engine):
    """A log followed from before the exit keeps every line though the
    container is removed before the reader reads (docker-py's
    run(remove=True) does just that): the file is opened when asked for."""
    ctr, _ = engine.run("busybox", ["sh", "-c", "echo one; sleep 0.2; echo two"], detach=True)
    followed = ctr.logs(follow=True)
    assert ctr.wait() == 0
    ctr.remove()
    assert [(r[1], r[2]) for r in followed] == [("stdout", b"one\n"), ("stdout", b"two\n")]


def test_run_attached_to_fds(engine):
    r, w = os.pipe()
    ctr, code = engine.run("busybox", ["echo", "to-fd"], stdout=w, stderr=w, auto_remove=True)
    os.close(w)
    assert code == 0 and os.read(r, 100) == b"to-fd\n"
    os.close(r)


def test_state_machine_errors(engine):
    ctr, _ = engine.run("busybox", ["sleep", "1000"], detach=True)
    assert ctr.state.status.value == "running"
    with pytest.raises(AlreadyInState):
        ctr.start()
    with pytest.raises(ContainerRunning):
        ctr.remove()
    with pytest.raises(InvalidState):
        ctr.unpause()
    ctr.pause()
    with pytest.raises(InvalidState):
        ctr.pause()
    ctr.unpause()
    ctr.stop(timeout=0)
    assert ctr.wait() == 137
    with pytest.raises(AlreadyInState):
        ctr.stop()
    with pytest.raises(InvalidState):
        ctr.kill(15)
    ctr.remove()


def test_bad_configs_change_nothing(engine):
    with pytest.raises(NoSuchImage):
        engine.create_container(ContainerConfig(image="does-not-exist"))
    with pytest.raises(InvalidArgument):
        engine.create_container(ContainerConfig(image="busybox", name="bad/name", command=["true"]))
    with pytest.raises(InvalidArgument):
        engine.create_container(ContainerConfig(image="busybox", command=["true"], mounts=[Mount(destination="/x", source="/no/such/dir")]))
    assert engine.containers() == []


def test_named_volume_persists(engine):
    _, code = engine.run("busybox", ["sh", "-c", "echo kept > /v/f"], mounts=[Mount(destination="/v", source="vol1")], auto_remove=True)
    assert code == 0
    ctr, code = engine.run("busybox", ["cat", "/v/f"], mounts=[Mount(destination="/v", source="vol1")])
    assert code == 0 and [r[2] for r in ctr.logs()] == [b"kept\n"]


def test_secret_as_env(pypod, engine):
    pypod("secret", "create", "tok", "-", input=b"s3cr3t")
    ctr, code = engine.run("busybox", ["sh", "-c", "echo $TOKEN"], secrets=[("tok", "TOKEN")])
    assert code == 0 and [r[2] for r in ctr.logs()] == [b"s3cr3t\n"]
    p = pypod("run", "-d", "--name", "sec", "--secret", "tok,type=env,target=T2", "busybox", "sleep", "100")
    assert pypod.out("exec", "sec", "sh", "-c", "echo $T2") == "s3cr3t"
    assert "tok" in pypod.out("secret", "ls")
    p = pypod("secret", "rm", "tok", check=False)
    assert p.returncode == 125 and b"in use" in p.stderr
