"""Security settings seen from inside real containers: seccomp, no new
privileges, masked paths, /proc options, and refusals of what this host
cannot enforce."""

from __future__ import annotations

import json
import os

import pytest

from pypod.proto.seccomp import DEFAULT_PROFILE


def status_fields(text: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in text.splitlines()) if _}


@pytest.mark.skipif(not os.path.exists(DEFAULT_PROFILE), reason="containers-common's seccomp.json is not installed")
def test_default_container_is_filtered_by_podmans_profile(pypod):
    cid = pypod.out("run", "-d", "busybox", "sleep", "1000")
    st = status_fields(pypod.out("exec", cid, "cat", "/proc/1/status"))
    assert st["Seccomp"] == "2" and st["Seccomp_filters"] == "1" and st["NoNewPrivs"] == "0"
    # exec'd processes are under the same filter
    assert status_fields(pypod.out("exec", cid, "cat", "/proc/self/status"))["Seccomp"] == "2"
    with open(os.path.join(pypod.root, "containers", cid, "userdata", "config.json")) as f:
        filt = json.load(f)["linux"]["seccomp"]
    assert filt["defaultAction"] == "SCMP_ACT_ERRNO" and filt["architectures"][0].startswith("SCMP_ARCH_")
    assert pypod.out("inspect", "--format", "{{json .HostConfig.SecurityOpt}}", cid) == "[]"


def test_custom_profile_and_other_security_opts(pypod, tmp_path):
    profile = tmp_path / "deny-mkdir.json"
    profile.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}],
    }))
    p = pypod("run", "--rm", "--security-opt", f"seccomp={profile}", "--security-opt", "no-new-privileges",
              "--security-opt", "mask=/etc/hostname", "--security-opt", "unmask=/proc/timer_list",
              "--security-opt", "proc-opts=hidepid=2",
              "busybox", "sh", "-c",
              "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; mkdir /made 2>&1; echo mkdir=$?; "
              "wc -c < /etc/hostname; mount | grep -c 'timer_list' ; mount | grep '^proc on /proc '",
              check=False)
    out = p.stdout.decode()
    assert "Seccomp:\t2" in out and "NoNewPrivs:\t1" in out
    assert "Permission denied" in out and "mkdir=1" in out
    lines = out.splitlines()
    assert lines[lines.index("mkdir=1") + 1].strip() == "0"  # /etc/hostname masked: empty
    assert lines[lines.index("mkdir=1") + 2].strip() == "0"  # /proc/timer_list no longer masked
    assert "hidepid=" in lines[-1]


def test_unconfined_and_privileged_run_without_a_filter(pypod):
    for flags in (["--security-opt", "seccomp=unconfined"], ["--privileged"]):
        out = pypod.out("run", "--rm", *flags, "busybox", "grep", "^Seccomp:", "/proc/self/status")
        assert out.split() == ["Seccomp:", "0"], flags
    cid = pypod.out("create", "--security-opt", "seccomp=unconfined", "--security-opt", "label=disable", "busybox", "true")
    opts = json.loads(pypod.out("inspect", "--format", "{{json .HostConfig.SecurityOpt}}", cid))
    assert opts == ["label=disable", "seccomp=unconfined"]


@pytest.mark.parametrize("opt,words", [
    ("apparmor=my-profile", 'apparmor profile "my-profile" specified, but Apparmor is not enabled on this system'),
    ("label=type:spc_t", 'SELinux label "type:spc_t" specified, but SELinux is not enabled on this system'),
    ("seccomp=/nonexistent.json", "opening seccomp profile failed: open /nonexistent.json: no such file or directory"),
    ("bogus", 'invalid --security-opt 1: "bogus"'),
])
def test_what_the_host_cannot_enforce_is_refused(pypod, opt, words):
    if opt.startswith("apparmor") and os.path.exists("/sys/kernel/security/apparmor"):
        pytest.skip("AppArmor is enabled on this host")
    if opt.startswith("label") and os.path.exists("/sys/fs/selinux/enforce"):
        pytest.skip("SELinux is enabled on this host")
    p = pypod("run", "--rm", "--security-opt", opt, "busybox", "true", check=False)
    assert p.returncode == 125
    assert p.stderr.decode().strip() == f"Error: {words}"
    assert pypod.out("ps", "-a", "-q") == ""
