"""The pure parts of rootless pypod (pypod/rootless.py): id maps, subordinate
ranges, the user's directories."""

from __future__ import annotations

from pypod.rootless import id_map_args, parse_id_map, subid_ranges, to_host, user_dirs


def test_parse_id_map_and_to_host():
    m = parse_id_map("         0       1001          1\n         1     100000      65536\n")
    assert m == [(0, 1001, 1), (1, 100000, 65536)]
    assert to_host(m, 0) == 1001
    assert to_host(m, 1) == 100000
    assert to_host(m, 1000) == 100999
    assert to_host(m, 65536) == 165535
    assert to_host(m, 65537) is None
    assert to_host(parse_id_map("0 0 4294967295"), 0) == 0
    assert parse_id_map("garbage\n1 2\n") == []


def test_subid_ranges_skip_other_users_and_bad_lines(tmp_path):
    f = tmp_path / "subuid"
    f.write_text("alice:100000:65536\nbob:200000:65536\n1000:300000:5\nalice:x:1\nalice:400000:0\n")
    assert subid_ranges(str(f), "alice", 1000) == [(100000, 65536), (300000, 5)]
    assert subid_ranges(str(f), "carol", 1002) == []


def test_id_map_args_own_id_first():
    assert id_map_args(1001, []) == ["0", "1001", "1"]
    assert id_map_args(1001, [(100000, 65536), (300000, 5)]) == ["0", "1001", "1", "1", "100000", "65536",
                                                               "65537", "300000", "5"]


def test_user_dirs_follow_xdg_then_fall_back():
    env = {"HOME": "/home/a", "XDG_RUNTIME_DIR": "/run/user/1001"}
    assert user_dirs(1001, env) == ("/home/a/.local/share/pypod", "/run/user/1001/pypod")
    assert user_dirs(1001, {**env, "XDG_DATA_HOME": "/data/a"})[0] == "/data/a/pypod"
    assert user_dirs(1001, {"HOME": "/home/a"})[1] == "/tmp/pypod-run-1001"


def test_user_mode_network_names_and_options():
    import pytest

    from pypod.errors import InvalidArgument
    from pypod.network import usernet

    assert usernet.is_usernet("slirp4netns") and usernet.is_usernet("pasta") and usernet.is_usernet("slirp4netns:mtu=1500")
    assert not usernet.is_usernet("bridge") and not usernet.is_usernet("slirp")
    assert usernet.options("slirp4netns:allow_host_loopback=true,mtu=1500") == {"allow_host_loopback": "true", "mtu": "1500"}
    assert usernet.options("slirp4netns") == {}
    with pytest.raises(InvalidArgument):
        usernet.options("slirp4netns:mtu")
    # what the container's /etc files say: slirp's own addresses; pasta copies the host's
    st = usernet.status("slirp4netns")
    assert st["slirp4netns"]["dns_server_ips"] == ["10.0.2.3"]
    assert st["slirp4netns"]["interfaces"]["tap0"]["subnets"] == [{"ipnet": "10.0.2.100/24", "gateway": "10.0.2.2"}]
    assert usernet.status("pasta") is None


def test_spec_loses_cgroup_limits_without_cgroups(monkeypatch, capsys):
    from pypod import rootless

    monkeypatch.setattr(rootless, "is_rootless", lambda: True)
    monkeypatch.setattr(rootless, "without_cgroups", lambda: True)
    spec = {"linux": {"resources": {"devices": [{"allow": False, "access": "rwm"}], "pids": {"limit": 2048}}}, "mounts": []}
    rootless.adjust_spec(spec)
    assert spec["linux"]["resources"] == {"devices": [{"allow": False, "access": "rwm"}]}
    assert capsys.readouterr().err == ""  # podman's default pids limit was nobody's request
    spec = {"linux": {"resources": {"memory": {"limit": 1 << 20}, "pids": {"limit": 10}}}, "mounts": []}
    rootless.adjust_spec(spec)
    assert spec["linux"]["resources"] == {}
    assert capsys.readouterr().err == rootless.RESOURCE_WARNING + "\n"
