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


def caps_of(status_text: str, key: str) -> set[str]:
    from pypod.proto.oci_spec import caps_from_mask

    return set(caps_from_mask(int(status_fields(status_text)[key], 16)))


def test_capabilities_groups_and_users(pypod):
    out = pypod.out("run", "--rm", "--cap-add", "net_admin", "--cap-drop", "chown", "--group-add", "10", "--group-add", "1234",
                    "busybox", "cat", "/proc/self/status")
    bnd = caps_of(out, "CapBnd")
    assert "CAP_NET_ADMIN" in bnd and "CAP_CHOWN" not in bnd and "CAP_KILL" in bnd
    assert status_fields(out)["Groups"].split() == ["10", "1234"]
    out = pypod.out("run", "--rm", "--cap-drop", "ALL", "--cap-add", "kill", "busybox", "cat", "/proc/self/status")
    assert caps_of(out, "CapBnd") == {"CAP_KILL"} == caps_of(out, "CapEff")
    # a non-root user holds only what was added, in every set (ambient too, so it survives exec)
    out = pypod.out("run", "--rm", "--user", "1000", "--cap-add", "net_raw", "busybox", "cat", "/proc/self/status")
    for key in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert caps_of(out, key) == {"CAP_NET_RAW"}, key
    out = pypod.out("run", "--rm", "--user", "1000", "busybox", "cat", "/proc/self/status")
    assert caps_of(out, "CapEff") == set()


def test_namespaces_shared_with_the_host_and_with_containers(pypod):
    def ns_of(pid: str, kind: str) -> str:
        return os.readlink(f"/proc/{pid}/ns/{kind}")

    host = {k: ns_of("self", k) for k in ("pid", "ipc", "uts", "cgroup")}
    out = pypod.out("run", "--rm", "--pid", "host", "--ipc", "host", "--uts", "host", "--cgroupns", "private",
                    "busybox", "sh", "-c", "for n in pid ipc uts cgroup; do readlink /proc/self/ns/$n; done; hostname")
    pid_ns, ipc_ns, uts_ns, cg_ns, hostname = out.splitlines()
    assert (pid_ns, ipc_ns, uts_ns) == (host["pid"], host["ipc"], host["uts"])
    assert cg_ns != host["cgroup"] and hostname == os.uname().nodename
    first = pypod.out("run", "-d", "--name", "first", "--ipc", "shareable", "busybox", "sleep", "1000")
    pypod("exec", "first", "sh", "-c", "echo shared > /dev/shm/note")
    first_pid = str(json.loads(pypod.out("inspect", first))[0]["State"]["Pid"])
    out = pypod.out("run", "--rm", "--pid", "container:first", "--ipc", "container:first", "--uts", f"ns:/proc/{first_pid}/ns/uts",
                    "busybox", "sh", "-c", "for n in pid ipc uts; do readlink /proc/self/ns/$n; done; cat /dev/shm/note; ps -o args")
    lines = out.splitlines()
    assert lines[:4] == [ns_of(first_pid, "pid"), ns_of(first_pid, "ipc"), ns_of(first_pid, "uts"), "shared"]
    assert any("sleep 1000" in line for line in lines[3:])
    hc = json.loads(pypod.out("inspect", "--format", "{{json .HostConfig}}", first))
    assert (hc["PidMode"], hc["IpcMode"], hc["UTSMode"]) == ("private", "shareable", "private")
    p = pypod("create", "--ipc", "container:" + pypod.out("create", "busybox", "true"), "busybox", "true", check=False)
    assert p.returncode == 125 and "it is not shareable" in p.stderr.decode()
    # a container others join cannot be removed from under them
    dep = pypod.out("create", "--pid", "container:first", "busybox", "true")
    p = pypod("rm", "-f", "first", check=False)
    assert p.returncode != 0 and "depend" in p.stderr.decode()
    pypod("rm", dep)


def test_devices_sysctls_and_read_only(pypod):
    out = pypod.out("run", "--rm", "--device", "/dev/fuse:/dev/myfuse:r", "--device-cgroup-rule", "c 42:42 rw",
                    "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.msgmax=4096", "--read-only",
                    "busybox", "sh", "-c", "ls -l /dev/myfuse; cat /sys/fs/cgroup/devices/devices.list 2>/dev/null;"
                    "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax; touch /x 2>&1; echo rc=$?", check=False)
    assert "10, 229" in out and "/dev/myfuse" in out
    if V1_DEVICES:
        assert "c 10:229 r" in out.splitlines() and "c 42:42 rw" in out.splitlines()
    assert "1\n4096" in out
    assert "Read-only file system" in out and "rc=1" in out
    for flags, words in ((["--sysctl", "kernel.panic=1"], "sysctl 'kernel.panic' is not allowed"),
                         (["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"], "is not allowed in the hosts network namespace"),
                         (["--ipc", "host", "--sysctl", "kernel.msgmax=1"], "is not allowed in the hosts ipc namespace"),
                         (["--device", "/dev/nonexistent"], "stat /dev/nonexistent: no such file or directory"),
                         (["--device", "/dev/fuse:/dev/f:xyz"], "invalid device mode: xyz"),
                         (["--device-cgroup-rule", "bogus"], "invalid device cgroup rule"),
                         (["--pid", "weird"], 'invalid pid namespace "weird"'),
                         (["--pid", "host", "--init"], "cannot add init binary as PID 1"),
                         (["--userns", "keep-id"], "keep-id is only supported in rootless mode"),
                         (["--ipc", "container:nonexistent"], "no container with name or ID")):
        p = pypod("create", *flags, "busybox", "true", check=False)
        assert p.returncode == 125 and words in p.stderr.decode(), (flags, p.stderr)
    assert pypod.out("ps", "-a", "-q") == ""


V1_DEVICES = os.path.exists("/sys/fs/cgroup/devices/devices.list")
