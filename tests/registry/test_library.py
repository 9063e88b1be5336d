"""The library's doors: engine.pull / pull_all_tags / push with a progress
callback, against the real registry."""

from __future__ import annotations

import pytest

from pypod.errors import InvalidArgument, ManifestUnknown, RegistryError

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(rp):
    from pypod.config import load_config
    from pypod.engine.engine import Engine

    eng = Engine(load_config(str(rp.tmp / "pypod.toml"), root=rp.root, runroot=rp.runroot))
    yield eng
    eng.close()


def _blob_states(events) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for ev in events:
        if ev.kind == "blob":
            out.setdefault(ev.digest, []).append(ev.state)
    return out


def test_engine_pull_and_push_report_progress(engine, rp, registry, fresh_registry):
    ref = f"{registry.host}/test/app"
    events = []
    img = engine.pull(ref, progress=events.append, tls_verify=False)
    kinds = [ev.kind for ev in events]
    assert kinds[0] == "trying" and events[0].text == f"{ref}:latest"
    assert kinds[-1] == "pulled" and events[-1].digest == img.id
    assert kinds.index("signatures") < kinds.index("config") < kinds.index("manifest") < kinds.index("storing")
    states = _blob_states(events)
    assert len(states) == 4
    for digest, seq in states.items():
        assert seq[0] == "start" and seq[-1] == "done", (digest, seq)
    # progress counts up to each layer's size, never past it
    for digest in states:
        sizes = [(ev.current, ev.total) for ev in events if ev.kind == "blob" and ev.digest == digest
                 and ev.state == "progress"]
        assert sizes and sizes[-1][0] == sizes[-1][1]
        assert all(a[0] <= b[0] <= b[1] for a, b in zip(sizes, sizes[1:]))
    assert engine.images.lookup(ref).id == img.id

    again = []
    assert engine.pull(ref, progress=again.append, tls_verify=False).id == img.id
    assert set(map(tuple, _blob_states(again).values())) == {("exists",)}

    assert [i.id for i in engine.pull_all_tags(ref, tls_verify=False)] == [img.id]
    arm = engine.pull(f"{registry.host}/test/multi", tls_verify=False, platform="linux/arm64")
    assert arm.id != img.id

    with pytest.raises(ManifestUnknown):
        engine.pull(f"{registry.host}/test/nope", tls_verify=False, retries=0)
    with pytest.raises(RegistryError, match="connection refused"):
        engine.pull("127.0.0.1:1/x", tls_verify=False, retries=0)
    with pytest.raises(InvalidArgument):
        engine.pull("127.0.0.1:1/UPPER", tls_verify=False)
    assert {i.id for i in engine.images.list()} >= {img.id, arm.id}

    dest = f"{fresh_registry.host}/lib/app:1"
    pushed = []
    digest = engine.push(ref, dest, progress=pushed.append, tls_verify=False)
    assert digest == img.digest and pushed[-1].kind == "pushed" and pushed[-1].digest == digest
    states = _blob_states(pushed)
    assert len(states) == 4 and all(seq[0] == "start" and seq[-1] == "done" for seq in states.values())
    # named in that registry, it goes to another repository there: every layer mounted, none uploaded
    rp("tag", ref, dest)
    mounted = []
    assert engine.push(dest, f"{fresh_registry.host}/lib/copy:1", progress=mounted.append, tls_verify=False) == digest
    blob_events = [ev for ev in mounted if ev.kind == "blob"]
    assert len(blob_events) == 4 and {(ev.state, ev.text) for ev in blob_events} == {("mounted", "lib/app")}
    # the same repository again: the registry has them all
    same = []
    engine.push(dest, dest, progress=same.append, tls_verify=False)
    assert {ev.state for ev in same if ev.kind == "blob"} == {"exists"}
