"""The CLI's argument handling, without running anything."""

import pytest

from pypod.cli import containers, main, runflags
from pypod.proto.humanize import human_duration
from pypod.errors import InvalidArgument


def parse_run(*argv):
    mod = containers
    p = main.make_parser("pypod run", "", add_help=False)
    mod.add_run_args(p)
    return p.parse_args(list(argv))


def test_global_flags_stop_at_the_command():
    opts, rest = main.split_globals(["--root", "/r", "--runroot=/rr", "run", "--root", "x"])
    assert opts == {"root": "/r", "runroot": "/rr"}
    assert rest == ["run", "--root", "x"]


def test_unknown_global_flag_is_a_usage_error():
    with pytest.raises(main.UsageError):
        main.split_globals(["--bogus", "ps"])


def test_group_commands_resolve():
    assert main.resolve_command(["container", "ls", "-a"])[:2] == ("ps", ["-a"])
    assert main.resolve_command(["image", "rm", "x"])[:2] == ("rmi", ["x"])
    with pytest.raises(main.UsageError):
        main.resolve_command(["container", "nope"])


def test_flags_after_the_image_belong_to_the_command():
    a = parse_run("-d", "--name", "n", "busybox", "sh", "-c", "echo -d --rm")
    assert a.detach and a.name == "n" and a.image == "busybox"
    assert a.command == ["sh", "-c", "echo -d --rm"]


def test_h_is_hostname_for_run():
    a = parse_run("-h", "box", "busybox")
    assert a.hostname == "box"


def test_config_from_args():
    a = parse_run("-e", "A=1", "-w", "/w", "-u", "1:2", "--cap-add", "net_admin", "-v", "/tmp:/data:ro",
                  "--ulimit", "nofile=10:20", "--stop-signal", "SIGUSR1", "--network", "none", "--label", "k=v",
                  "--log-opt", "max-size=1k", "--entrypoint", '["/bin/sh","-c"]', "busybox", "echo hi")
    cfg = runflags.config_from_args(a)
    assert cfg.env == ["A=1"] and cfg.workdir == "/w" and cfg.user == "1:2"
    assert cfg.mounts[0].source == "/tmp" and cfg.mounts[0].destination == "/data" and cfg.mounts[0].options == ["ro"]
    assert cfg.ulimits == [("nofile", 10, 20)]
    assert cfg.stop_signal == 10 and cfg.network == "none" and cfg.labels == {"k": "v"}
    assert cfg.log_size_max == 1024
    assert cfg.entrypoint == ["/bin/sh", "-c"] and cfg.command == ["echo hi"]


@pytest.mark.parametrize("argv", [
    ("--network", "container:", "busybox"),
    ("-p", "abc", "busybox"),
    ("--dns", "1.2.3.x", "busybox"),
    ("--cap-add", "CAP_NOPE", "busybox"),
    ("--ulimit", "nofile=x", "busybox"),
    ("-v", "relative", "busybox"),
    ("-v", "/a:rel", "busybox"),
    ("-v", "/a:/b:bogus", "busybox"),
    ("-w", "relative", "busybox"),
    ("--stop-signal", "SIGNOPE", "busybox"),
    ("--log-opt", "nope=1", "busybox"),
    ("--secret", "s,type=mount", "busybox"),
])
def test_bad_values_are_clear_errors(argv):
    with pytest.raises(InvalidArgument):
        runflags.config_from_args(parse_run(*argv))


def test_bad_flag_exits_125(capsys):
    assert main.main(["run", "--no-such-flag", "busybox"]) == 125
    assert "Error:" in capsys.readouterr().err


def test_human_duration_matches_go_units():
    assert human_duration(0.2) == "Less than a second"
    assert human_duration(1) == "1 second"
    assert human_duration(59) == "59 seconds"
    assert human_duration(60) == "About a minute"
    assert human_duration(600) == "10 minutes"
    assert human_duration(3600) == "About an hour"
    assert human_duration(3 * 3600) == "3 hours"
