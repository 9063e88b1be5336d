"""Seccomp profiles to the OCI spec: conditional rules resolved as podman does."""

import os

import pytest

from pypod.engine.container import ContainerConfig
from pypod.errors import InvalidArgument
from pypod.proto import oci_spec, seccomp
from pypod.specgen.security import parse_security_opts

PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 38,
    "archMap": [
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
    ],
    "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "args": [], "includes": {}, "excludes": {}},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
        {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
        {"names": ["mount", "setns"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["mount", "setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["newcall"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.10"}},
        {"name": "single", "action": "SCMP_ACT_LOG"},
    ],
}


def names(out):
    return [(tuple(r["names"]), r["action"]) for r in out["syscalls"]]


def test_arch_map_picks_the_native_arch_and_its_sub_arches():
    out = seccomp.translate(PROFILE, [], "amd64")
    assert out["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert out["defaultAction"] == "SCMP_ACT_ERRNO" and out["defaultErrnoRet"] == 38
    assert seccomp.translate(PROFILE, [], "arm64")["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]


def test_arch_conditions():
    amd = names(seccomp.translate(PROFILE, [], "amd64"))
    arm = names(seccomp.translate(PROFILE, [], "arm64"))
    assert (("arch_prctl",), "SCMP_ACT_ALLOW") in amd and (("arch_prctl",), "SCMP_ACT_ALLOW") not in arm
    assert (("sync_file_range2",), "SCMP_ACT_ALLOW") in arm and (("sync_file_range2",), "SCMP_ACT_ALLOW") not in amd


def test_capability_conditions_follow_the_bounding_set():
    plain = names(seccomp.translate(PROFILE, ["CAP_CHOWN"], "amd64"))
    admin = names(seccomp.translate(PROFILE, ["CAP_CHOWN", "CAP_SYS_ADMIN"], "amd64"))
    assert (("mount", "setns"), "SCMP_ACT_ERRNO") in plain and (("mount", "setns"), "SCMP_ACT_ALLOW") not in plain
    assert (("mount", "setns"), "SCMP_ACT_ALLOW") in admin and (("mount", "setns"), "SCMP_ACT_ERRNO") not in admin


def test_kernel_condition():
    assert (("newcall",), "SCMP_ACT_ALLOW") in names(seccomp.translate(PROFILE, [], "amd64", (6, 1)))
    assert (("newcall",), "SCMP_ACT_ALLOW") not in names(seccomp.translate(PROFILE, [], "amd64", (5, 4)))
    assert seccomp.kernel_version("6.18.44-fc-v1045") == (6, 18)
    assert seccomp.kernel_version("5.10") == (5, 10)


def test_fields_are_left_out_as_go_omits_them():
    out = seccomp.translate(PROFILE, [], "amd64")
    rw = out["syscalls"][0]
    assert rw == {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}
    pers = out["syscalls"][1]
    assert pers["args"] == [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]
    errno = next(r for r in out["syscalls"] if r["action"] == "SCMP_ACT_ERRNO")
    assert errno["errnoRet"] == 1
    assert out["syscalls"][-1] == {"names": ["single"], "action": "SCMP_ACT_LOG"}


def test_bad_profiles():
    with pytest.raises(InvalidArgument):
        seccomp.translate({**PROFILE, "architectures": ["SCMP_ARCH_X86_64"]}, [], "amd64")
    with pytest.raises(InvalidArgument):
        seccomp.translate({"syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]}, [], "amd64")
    with pytest.raises(InvalidArgument):
        seccomp.translate({"syscalls": [{"names": ["a"]}]}, [], "amd64")


def test_load_profile_errors_in_podmans_words(tmp_path):
    with pytest.raises(InvalidArgument, match="opening seccomp profile failed: open /nonexistent: no such file or directory"):
        seccomp.load_profile("/nonexistent")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(InvalidArgument, match="decoding seccomp profile failed"):
        seccomp.load_profile(str(bad))


@pytest.mark.skipif(not os.path.exists(seccomp.DEFAULT_PROFILE), reason="containers-common's seccomp.json is not installed")
def test_the_installed_default_profile_as_podman_translates_it():
    """podman 4.3.1 writes 22 rules for a default container on amd64: the
    two big lists, personality's five, arch_prctl, modify_ldt, and the
    denials for the capabilities podman's default set lacks."""
    profile = seccomp.load_profile(seccomp.DEFAULT_PROFILE)
    out = seccomp.translate(profile, oci_spec.DEFAULT_CAPS, "amd64", (6, 1))
    assert out["defaultAction"] == "SCMP_ACT_ERRNO" and out["defaultErrnoRet"] == 38
    assert len(out["syscalls"]) == 22
    assert all(r["action"] == "SCMP_ACT_ERRNO" for r in out["syscalls"] if "bpf" in r["names"])
    chroot = [r for r in out["syscalls"] if r["names"] == ["chroot"]]
    assert chroot == [{"names": ["chroot"], "action": "SCMP_ACT_ALLOW"}]  # CAP_SYS_CHROOT is a default cap


def spec_for(**kw):
    cfg = ContainerConfig(id="a" * 64, name="t", hostname="h", **kw)
    return oci_spec.build_spec(cfg, rootfs="/r", args=["sh"], env=[], cwd="/", uid=0, gid=0, additional_gids=[],
                               hard_limits={}, etc_files={}, seccomp_profile=PROFILE)


def test_spec_gets_the_filter_unless_privileged():
    assert spec_for()["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert "seccomp" not in spec_for(privileged=True)["linux"]
    admin = spec_for(cap_add=["SYS_ADMIN"])["linux"]["seccomp"]
    assert {"names": ["mount", "setns"], "action": "SCMP_ACT_ALLOW"} in admin["syscalls"]


def test_security_opts_reach_the_spec():
    sec = parse_security_opts(["no-new-privileges", "mask=/etc/a:/etc/b", "unmask=/proc/kcore", "proc-opts=hidepid=2,gid=3"])
    s = spec_for(security=sec)
    assert s["process"]["noNewPrivileges"] is True
    assert "/etc/a" in s["linux"]["maskedPaths"] and "/etc/b" in s["linux"]["maskedPaths"]
    assert "/proc/kcore" not in s["linux"]["maskedPaths"]
    proc = next(m for m in s["mounts"] if m["destination"] == "/proc")
    assert proc["options"][-2:] == ["hidepid=2", "gid=3"]
    everything = spec_for(security=parse_security_opts(["unmask=ALL"]))["linux"]
    assert everything["maskedPaths"] == [] and everything["readonlyPaths"] == []
    assert spec_for(security=parse_security_opts(["systempaths=unconfined"]))["linux"]["maskedPaths"] == []
    assert "apparmorProfile" not in spec_for(security=parse_security_opts(["apparmor=unconfined"]))["process"]


def test_security_opt_parsing():
    sec = parse_security_opts(["seccomp=unconfined", "label=disable", "apparmor=unconfined", "no-new-privileges=false"])
    assert sec.seccomp_profile == "unconfined" and sec.label_options == ["disable"] and not sec.no_new_privileges
    assert sec.security_opt() == ["apparmor=unconfined", "label=disable", "seccomp=unconfined"]
    assert parse_security_opts(["seccomp:unconfined"]).seccomp_profile == "unconfined"  # Docker's old spelling
    assert parse_security_opts(["seccomp=rel/p.json"]).seccomp_profile == os.path.abspath("rel/p.json")


@pytest.mark.parametrize("opt,msg", [
    ("bogus", 'invalid --security-opt 1: "bogus"'),
    ("bogus=1", 'invalid --security-opt 2: "bogus=1"'),
    ("no-new-privileges=maybe", "invalid --security-opt 2"),
    ("label=weird", "invalid --security-opt 2"),
    ("mask=relative", "paths must be absolute"),
    ("systempaths=strict", "only `unconfined` is supported"),
    ("seccomp=", "invalid --security-opt 2"),
])
def test_bad_security_opts(opt, msg):
    with pytest.raises(InvalidArgument, match=msg):
        parse_security_opts([opt])
