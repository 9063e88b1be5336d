"""The pure parts of podman's command-line behaviour: global flags, target
selection rules, filters, ps/events presentation, OCI hooks matching."""

import argparse
import json
import time

import pytest

from pypod.cli import events as cli_events
from pypod.cli import main, ps, targets
from pypod.engine import events as engine_events
from pypod.engine.container import ContainerConfig, ContainerState, Status
from pypod.engine.filters import container_predicate, labels_match, parse_filters, regex_any
from pypod.errors import InvalidArgument
from pypod.proto import oci_hooks
from pypod.proto.humanize import GoTime, human_size


def test_global_flags_all_spellings():
    opts, rest = main.split_globals(["--runtime-flag", "debug", "--runtime-flag=log=/x", "--noout", "--storage-opt",
                                     "overlay.mountopt=nodev", "--hooks-dir", "/h1", "--hooks-dir=/h2",
                                     "--events-backend=none", "ps", "-a"])
    assert opts == {"runtime_flag": ["debug", "log=/x"], "noout": True, "storage_opt": ["overlay.mountopt=nodev"],
                    "hooks_dir": ["/h1", "/h2"], "events_backend": "none"}
    assert rest == ["ps", "-a"]
    with pytest.raises(main.UsageError):
        main.split_globals(["--noout=maybe", "ps"])
    with pytest.raises(main.UsageError):
        main.split_globals(["--tmpdir"])


def test_global_flags_after_the_command():
    p = main.make_parser("pypod ps", "")
    ps.add_ps_args(p)
    main.add_global_flags(p)
    ns = p.parse_args(["-a", "--root", "/r", "--runtime-flag", "debug", "--noout"])
    gopts = {"runtime_flag": ["x"]}
    main._merge_late_globals(gopts, ns)
    assert gopts == {"runtime_flag": ["x", "debug"], "root": "/r", "noout": True}
    assert ns.all and not hasattr(ns, "global_root")


def test_every_global_flag_is_in_the_help():
    text = main._usage()
    for flag in main.GLOBAL_FLAGS:
        assert flag in text


def _targets_ns(**kw):
    base = dict(containers=[], all=False, latest=False, cidfile=[], filter=[], ignore=False)
    base.update(kw)
    return argparse.Namespace(**base)


@pytest.mark.parametrize("kw,message", [
    (dict(containers=["a"], filter=["name=a"]), "--filter takes no arguments"),
    (dict(cidfile=["f"], all=True), "--all, --latest, and --cidfile cannot be used together"),
    (dict(all=True, latest=True), "--all and --latest cannot be used together"),
    (dict(containers=["a"], all=True), "no arguments are needed with --all"),
    (dict(containers=["a"], latest=True), "--latest and containers cannot be used together"),
    (dict(), "you must provide at least one name or id"),
])
def test_target_rules_are_podmans(kw, message):
    with pytest.raises(InvalidArgument, match=message):
        targets.check_target_args(_targets_ns(**kw))


def test_target_rules_accept_good_combinations():
    for kw in (dict(containers=["a", "b"]), dict(all=True), dict(latest=True), dict(cidfile=["f"]),
               dict(filter=["name=x"]), dict(cidfile=["f"], containers=["a"])):
        targets.check_target_args(_targets_ns(**kw))


def test_cidfiles(tmp_path):
    f = tmp_path / "cid"
    f.write_text("abc123\nignored\n")
    assert targets.read_cidfiles([str(f)]) == ["abc123"]
    with pytest.raises(InvalidArgument, match="reading CIDFile"):
        targets.read_cidfiles([str(tmp_path / "missing")])
    assert targets.read_cidfiles([str(tmp_path / "missing")], ignore=True) == []


def test_filter_words():
    assert parse_filters(["a=1", "a=2", "b=x=y"]) == {"a": ["1", "2"], "b": ["x=y"]}
    with pytest.raises(InvalidArgument, match='invalid filter "nokey"'):
        parse_filters(["nokey"])
    assert labels_match(["k", "a=b"], {"k": "", "a": "b"})
    assert not labels_match(["a=c"], {"a": "b"})
    assert regex_any(["^we"], "web") and not regex_any(["^eb"], "web") and regex_any(["[bad"], "x[bady")


class _FakeCtr:
    def __init__(self, cid, name, status=Status.RUNNING, labels=None, exit_code=0, created=0.0, finished=0.0):
        self.id, self.name = cid, name
        self.config = ContainerConfig(id=cid, name=name, labels=labels or {}, created=created, image="busybox",
                                      image_id="f" * 64)
        self.state = ContainerState(status=status, exit_code=exit_code, finished_at=finished)


class _FakeEngine:
    def __init__(self, ctrs):
        self.ctrs = ctrs

    def container(self, ref):
        from pypod.errors import NoSuchContainer

        for c in self.ctrs:
            if ref in (c.id, c.name):
                return c
        raise NoSuchContainer(f'no container with name or ID "{ref}" found: no such container')

    class images:
        @staticmethod
        def lookup(ref):
            from pypod.errors import NoSuchImage

            raise NoSuchImage(ref)


def _names(filters, ctrs):
    keep = container_predicate(_FakeEngine(ctrs), filters)
    return [c.name for c in ctrs if keep(c)]


def test_container_filters():
    ctrs = [_FakeCtr("aaa1", "web", labels={"tier": "front"}, created=1.0),
            _FakeCtr("bbb2", "db", Status.EXITED, exit_code=3, created=2.0, finished=5.0),
            _FakeCtr("ccc3", "cache", Status.CONFIGURED, created=3.0),
            _FakeCtr("ddd4", "paused", Status.PAUSED, created=4.0)]
    assert _names({"name": ["^we", "ache$"]}, ctrs) == ["web", "cache"]
    assert _names({"id": ["bbb"]}, ctrs) == ["db"]
    assert _names({"label": ["tier=front"]}, ctrs) == ["web"]
    assert _names({"status": ["exited", "created"]}, ctrs) == ["db", "cache"]
    assert _names({"status": ["stopped"]}, ctrs) == ["db"]
    assert _names({"exited": ["3"]}, ctrs) == ["db"]
    assert _names({"exited": ["0"]}, ctrs) == []
    assert _names({"before": ["cache"]}, ctrs) == ["web", "db"]
    assert _names({"since": ["db"]}, ctrs) == ["cache", "paused"]
    assert _names({"ancestor": ["busybox"]}, ctrs) == ["web", "db", "cache", "paused"]
    assert _names({"ancestor": ["alpine"]}, ctrs) == []
    assert _names({"status": ["paused"], "name": ["e"]}, ctrs) == ["paused"]
    assert _names({"until": ["3"]}, ctrs) == ["web", "db"]
    for bad in ({"nope": ["x"]}, {"status": ["sleeping"]}, {"exited": ["x"]}, {"restart-policy": ["sometimes"]}):
        with pytest.raises(InvalidArgument):
            container_predicate(_FakeEngine(ctrs), bad)
    with pytest.raises(InvalidArgument):
        container_predicate(_FakeEngine(ctrs), {"name": ["x"]}, prune=True)


def _entry(**kw):
    e = {"AutoRemove": False, "Command": ["sh", "-c", "echo a long command line"], "Created": time.time() - 90,
         "CreatedAt": "", "Exited": False, "ExitedAt": -62135596800, "ExitCode": 0, "Id": "a" * 64, "Image": "busybox",
         "ImageID": "b" * 64, "IsInfra": False, "Labels": {"k": "v"}, "Mounts": ["/data"], "Names": ["web"],
         "Namespaces": {}, "Networks": ["n1", "n2"], "Pid": 7, "Pod": "", "PodName": "",
         "Ports": [{"host_ip": "", "host_port": 8080, "container_port": 80, "protocol": "tcp", "range": 1},
                   {"host_ip": "127.0.0.1", "host_port": 9000, "container_port": 90, "protocol": "tcp,udp", "range": 3}],
         "Size": {"rootFsSize": 2_000_000, "rwSize": 20_492}, "StartedAt": int(time.time() - 60), "State": "running",
         "Status": ""}
    e.update(kw)
    return e


def test_ps_template_fields_are_podmans():
    row = ps.template_row(_entry(), no_trunc=False)
    assert row["ID"] == "a" * 12 and row["ImageID"] == "b" * 12
    assert row["Command"] == "sh -c echo a long..."
    assert row["Status"] == row["State"] == "Up About a minute ago"
    assert row["CreatedHuman"] == row["RunningFor"] == "About a minute ago"
    assert row["Ports"] == "0.0.0.0:8080->80/tcp, 127.0.0.1:9000-9002->90-92/tcp, 127.0.0.1:9000-9002->90-92/udp"
    assert row["Size"] == "20.5kB (virtual 2MB)"
    assert row["Networks"] == "n1,n2" and row["Names"] == "web"
    assert str(row["Created"]).endswith(" +0000 UTC")
    full = ps.template_row(_entry(), no_trunc=True)
    assert full["ID"] == "a" * 64 and full["Command"] == "sh -c echo a long command line"
    assert ps.state_text(_entry(State="exited", ExitCode=3, ExitedAt=int(time.time() - 7200))) == "Exited (3) 2 hours ago"
    assert ps.state_text(_entry(State="created")) == "Created"
    assert ps.state_text(_entry(Status="healthy")) == "Up About a minute ago (healthy)"


def test_ps_json_entry():
    out = ps.json_entry(_entry(Namespaces={"Net": "1", "Ipc": ""}))
    assert isinstance(out["Created"], int) and out["CreatedAt"].endswith("ago")
    assert out["Namespaces"] == {"Net": "1"} and out["Status"].startswith("Up ")


def test_go_time_and_sizes():
    assert str(GoTime(0)) == "0001-01-01 00:00:00 +0000 UTC"
    assert str(GoTime(1700000000.25)) == "2023-11-14 22:13:20.25 +0000 UTC"
    assert human_size(20492, "") == "20.5kB" and human_size(0, "") == "0B" and human_size(2_140_000) == "2.14 MB"


def _ev(**kw):
    e = {"type": "container", "action": "start", "id": "c" * 64, "name": "web", "image": "busybox",
         "time": 1_700_000_000_123_456_789, "attributes": {"app": "x", "containerExitCode": "3"}}
    e.update(kw)
    return e


def test_event_filters():
    keep = engine_events.event_predicate({"container": ["web", "zzz"], "event": ["start"]})
    assert keep(_ev()) and not keep(_ev(action="stop")) and not keep(_ev(name="db", id="d" * 64))
    assert engine_events.event_predicate({"container": ["ccc"]})(_ev())
    assert engine_events.event_predicate({"label": ["app=x"]})(_ev())
    assert not engine_events.event_predicate({"label": ["app=y"]})(_ev())
    assert engine_events.event_predicate({"type": ["image"]})(_ev(type="image"))
    assert not engine_events.event_predicate({"image": ["web"]})(_ev())
    with pytest.raises(InvalidArgument, match="bogus is an invalid filter"):
        engine_events.event_predicate({"bogus": ["1"]})


def test_event_output_shapes():
    human = cli_events.render(_ev(action="died"), "")
    assert human.startswith("2023-11-14 22:13:20.123456789 +0000 UTC container died " + "c" * 64)
    assert human.endswith("(image=busybox, name=web, app=x)")
    assert "died " + "c" * 12 + " (" in cli_events.render(_ev(action="died"), "", no_trunc=False)
    as_json = json.loads(cli_events.render(_ev(action="died"), "json"))
    assert as_json["ContainerExitCode"] == 3 and as_json["Time"] == "2023-11-14T22:13:20.123456789Z"
    assert as_json["Attributes"] == {"app": "x"} and as_json["Status"] == "died"
    assert cli_events.render(_ev(), "{{.Type}}/{{.Status}}/{{.Name}}/{{index .Attributes \"app\"}}") == "container/start/web/x"
    assert cli_events.render(_ev(type="image", action="remove", name="busybox"), "").endswith("image remove " + "c" * 64 + " busybox")


HOOK = {"version": "1.0.0", "hook": {"path": "/bin/true", "args": ["true", "x"], "timeout": 3},
        "when": {"commands": ["^/bin/sh$"]}, "stages": ["prestart", "poststop"]}


def test_oci_hooks_parse_and_match():
    hook = oci_hooks.parse_hook("h.json", json.dumps(HOOK))
    spec = {"process": {"args": ["/bin/sh", "-c", "x"]}, "annotations": {"io.x": "on"}}
    oci_hooks.add_hooks(spec, [hook], has_bind_mounts=False)
    assert spec["hooks"]["prestart"] == [{"path": "/bin/true", "args": ["true", "x"], "timeout": 3}]
    assert spec["hooks"]["poststop"] == spec["hooks"]["prestart"]
    other = {"process": {"args": ["/bin/echo"]}}
    oci_hooks.add_hooks(other, [hook], has_bind_mounts=False)
    assert "hooks" not in other
    by_annotation = dict(HOOK, when={"annotations": {"^io\\.x$": "^on$"}})
    assert oci_hooks.matches(by_annotation, spec, False) and not oci_hooks.matches(by_annotation, other, False)
    by_mounts = dict(HOOK, when={"hasBindMounts": True})
    assert oci_hooks.matches(by_mounts, other, True) and not oci_hooks.matches(by_mounts, other, False)


@pytest.mark.parametrize("change", [
    {"version": "2.0.0"}, {"hook": {"path": "relative"}}, {"when": {}}, {"stages": ["sometime"]},
    {"stages": []}, {"when": {"commands": ["[bad"]}}, {"hook": {"path": "/x", "timeout": 0}},
])
def test_oci_hooks_bad_files_are_named(change):
    with pytest.raises(InvalidArgument, match="parsing hook bad.json"):
        oci_hooks.parse_hook("bad.json", json.dumps({**HOOK, **change}))


def test_oci_hook_dirs_later_wins(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "10.json").write_text(json.dumps(HOOK))
    (b / "10.json").write_text(json.dumps(dict(HOOK, hook={"path": "/bin/false"})))
    (a / "20.json").write_text(json.dumps(dict(HOOK, hook={"path": "/bin/echo"})))
    (a / "ignored.txt").write_text("not a hook")
    hooks = oci_hooks.read_hook_dirs([str(a), str(b), str(tmp_path / "missing")])
    assert [h["hook"]["path"] for h in hooks] == ["/bin/false", "/bin/echo"]
