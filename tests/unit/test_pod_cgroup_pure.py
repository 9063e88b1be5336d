"""The pure parts of pods' cgroups and of checkpoint options: which files
get which values, and podman's rules about which flags go together."""

from __future__ import annotations

import pytest

from pypod.engine.checkpoint import (CheckpointOptions, RestoreOptions, check_checkpoint, check_restore,
                                     not_carried_out, runtime_flags)
from pypod.engine.podcgroup import pod_cgroup_path, v1_writes, v2_writes
from pypod.engine.resources import DeviceLimit, Resources
from pypod.errors import InvalidArgument


def test_v1_and_v2_files_of_a_pods_limits():
    r = Resources(memory=64 << 20, memory_swap=128 << 20, cpu_shares=512, cpu_period=100000, cpu_quota=150000,
                  cpuset_cpus="0-1", cpuset_mems="0", device_read_bps=[DeviceLimit("/dev/vda", 252, 0, 1 << 20)])
    w = v1_writes(r)
    # memory.limit before memsw: the kernel refuses a swap limit below the memory limit
    assert w["memory"] == [("memory.limit_in_bytes", str(64 << 20)), ("memory.memsw.limit_in_bytes", str(128 << 20))]
    assert w["cpu"] == [("cpu.shares", "512"), ("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "150000")]
    assert w["cpuset"] == [("cpuset.cpus", "0-1"), ("cpuset.mems", "0")]
    assert w["blkio"] == [("blkio.throttle.read_bps_device", f"252:0 {1 << 20}")]
    assert "pids" not in w and v1_writes(Resources()) == {}
    v2 = dict(v2_writes(r))
    assert v2["memory.max"] == str(64 << 20) and v2["memory.swap.max"] == str(64 << 20)
    assert v2["cpu.max"] == "150000 100000" and v2["io.max"] == f"252:0 rbps={1 << 20}"
    assert v2["cpu.weight"] == str(1 + (510 * 9999) // 262142)
    assert pod_cgroup_path("/pypod_parent/", "abc") == "/pypod_parent/pypod-pod-abc"


@pytest.mark.parametrize("opts, words", [
    (CheckpointOptions(with_previous=True, pre_checkpoint=True), "--with-previous can not be used with --pre-checkpoint"),
    (CheckpointOptions(ignore_rootfs=True), "--ignore-rootfs can only be used with --export"),
    (CheckpointOptions(export="/x.tar", compress="lz4"), 'selected compression algorithm ("lz4") not supported'),
])
def test_checkpoint_contradictions(opts, words):
    with pytest.raises(InvalidArgument, match=words.replace("(", r"\(").replace(")", r"\)")):
        check_checkpoint(opts)


def test_restore_rules_and_runtime_flags():
    with pytest.raises(InvalidArgument, match="--name can only be used with image or --import"):
        check_restore(RestoreOptions(name="x"))
    check_restore(RestoreOptions(import_archive="/a.tar", name="x", publish=["80"]))
    assert not_carried_out(CheckpointOptions(create_image="img")) == "--create-image"
    assert not_carried_out(RestoreOptions(import_archive="/a.tar")) == "--import"
    assert not_carried_out(CheckpointOptions(leave_running=True)) == ""
    assert runtime_flags(CheckpointOptions(leave_running=True, file_locks=True, pre_checkpoint=True)) == [
        "--file-locks", "--leave-running", "--pre-dump"]
    assert runtime_flags(RestoreOptions(tcp_established=True)) == ["--tcp-established"]
