import pytest

from pypod.engine.container import ContainerConfig, Mount
from pypod.errors import InvalidArgument
from pypod.proto import oci_spec


def spec_for(**kw):
    cfg = ContainerConfig(id="a" * 64, name="t", hostname="aaaaaaaaaaaa", **kw)
    return oci_spec.build_spec(
        cfg, rootfs="/r", args=["sh"], env=["A=1"], cwd="/", uid=0, gid=0, additional_gids=[],
        hard_limits={"RLIMIT_NOFILE": 4096}, etc_files={"/etc/hosts": "/x/hosts"}, cgroups_path="/p/c",
    )


def test_default_caps_are_podmans_and_root_gets_them_all():
    caps = spec_for()["process"]["capabilities"]
    assert caps["bounding"] == sorted(oci_spec.DEFAULT_CAPS)
    assert caps["effective"] == caps["bounding"] == caps["permitted"]
    assert "CAP_SYS_ADMIN" not in caps["bounding"]


def test_non_root_user_has_only_added_caps():
    caps = oci_spec.process_capabilities(["CAP_CHOWN"], uid=1000)
    assert caps == {"bounding": ["CAP_CHOWN"], "effective": [], "permitted": [], "inheritable": [], "ambient": []}
    caps = oci_spec.process_capabilities(["CAP_CHOWN", "CAP_NET_RAW"], uid=1000, cap_add=["net_raw", "sys_admin"])
    assert all(caps[k] == ["CAP_NET_RAW"] for k in ("effective", "permitted", "inheritable", "ambient"))


def test_cap_add_drop_and_all():
    assert "CAP_NET_ADMIN" in oci_spec.capability_set(False, ["net_admin"], [])
    assert "CAP_CHOWN" not in oci_spec.capability_set(False, [], ["CHOWN"])
    assert oci_spec.capability_set(False, [], ["all"]) == []
    assert oci_spec.capability_set(False, ["NET_RAW"], ["ALL"]) == ["CAP_NET_RAW"]
    assert len(oci_spec.capability_set(False, ["all"], [])) == len(oci_spec.ALL_CAPS)
    with pytest.raises(InvalidArgument):
        oci_spec.capability_set(False, ["CAP_BOGUS"], [])


def test_privileged_has_all_caps_and_no_masks():
    s = spec_for(privileged=True)
    assert len(s["process"]["capabilities"]["bounding"]) == len(oci_spec.ALL_CAPS)
    assert "maskedPaths" not in s["linux"]
    assert s["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]


def test_masked_and_readonly_paths_by_default():
    s = spec_for()
    assert "/proc/kcore" in s["linux"]["maskedPaths"]
    assert "/proc/sys" in s["linux"]["readonlyPaths"]


def test_rlimits_are_clamped_to_hard_limits():
    s = spec_for()
    nofile = next(r for r in s["process"]["rlimits"] if r["type"] == "RLIMIT_NOFILE")
    assert nofile == {"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 4096}
    nproc = next(r for r in s["process"]["rlimits"] if r["type"] == "RLIMIT_NPROC")
    assert nproc["hard"] == 4194304


def test_explicit_ulimit_wins():
    s = spec_for(ulimits=[oci_spec.parse_ulimit("nofile=100:200")])
    nofile = next(r for r in s["process"]["rlimits"] if r["type"] == "RLIMIT_NOFILE")
    assert (nofile["soft"], nofile["hard"]) == (100, 200)


@pytest.mark.parametrize("bad", ["nofile", "bogus=1", "nofile=a", "nofile=10:5", "nofile="])
def test_bad_ulimits(bad):
    with pytest.raises(InvalidArgument):
        oci_spec.parse_ulimit(bad)


def test_namespaces_by_network_mode():
    types = lambda s: {n["type"] for n in s["linux"]["namespaces"]}
    assert types(spec_for()) == {"pid", "ipc", "mount", "network", "uts"}
    host = spec_for(network="host")
    assert "network" not in types(host) and "uts" in types(host)  # its own UTS namespace, as podman
    assert spec_for()["hostname"] == "aaaaaaaaaaaa"


def test_user_mount_replaces_standard_one_and_binds_get_rbind():
    s = spec_for(mounts=[Mount(destination="/dev/shm", source="/host/shm"), Mount(destination="/data", source="/d", options=["ro"])])
    shm = [m for m in s["mounts"] if m["destination"] == "/dev/shm"]
    assert len(shm) == 1 and shm[0]["source"] == "/host/shm"
    data = next(m for m in s["mounts"] if m["destination"] == "/data")
    assert data["options"] == ["ro", "rbind"]


def test_read_only_rootfs_and_cgroups_path():
    s = spec_for(read_only=True)
    assert s["root"] == {"path": "/r", "readonly": True}
    assert s["linux"]["cgroupsPath"] == "/p/c"


def test_env_merge_order_and_home():
    env = oci_spec.build_env(["PATH=/img", "A=img"], ["A=user", "B=2"], tty=True, hostname="h", home="/root", secret_env=["S=sec"])
    d = dict(e.split("=", 1) for e in env)
    assert d["PATH"] == "/img" and d["A"] == "user" and d["TERM"] == "xterm" and d["HOME"] == "/root"
    assert d["S"] == "sec" and d["HOSTNAME"] == "h"
    env = oci_spec.build_env([], ["HOME=/x"], tty=False, hostname="h", home="/root", secret_env=[])
    assert "HOME=/x" in env and "TERM=xterm" not in " ".join(env)


def test_privileged_is_bounded_by_the_callers_set():
    held = [c for c in oci_spec.ALL_CAPS if c != "CAP_SYS_RESOURCE"]
    caps = oci_spec.capability_set(True, [], [], bounding=held)
    assert "CAP_SYS_RESOURCE" not in caps and "CAP_SYS_ADMIN" in caps
    assert oci_spec.caps_from_mask(0b101) == ["CAP_CHOWN", "CAP_DAC_READ_SEARCH"]
    assert oci_spec.caps_from_mask((1 << 41) - 1) == list(oci_spec.ALL_CAPS)
