"""The pure parts of stats: Go's durations, CPU percentages, Docker's and podman's shapes."""

from pypod.api.containerfs_routes import docker_stats, libpod_stats_entry
from pypod.engine.stats import NetCounters, Sample, avg_cpu_percent, cpu_percent
from pypod.proto.humanize import go_duration, human_size, iec_size


def test_go_duration_prints_as_go_does():
    assert go_duration(0) == "0s"
    assert go_duration(999) == "999ns"
    assert go_duration(1500) == "1.5µs"
    assert go_duration(35_069_978) == "35.069978ms"
    assert go_duration(1_000_000_000) == "1s"
    assert go_duration(61_500_000_000) == "1m1.5s"
    assert go_duration(3_600_000_000_000) == "1h0m0s"


def test_sizes_as_podman_stats_prints_them():
    assert human_size(352256, "", 4) == "352.3kB" and human_size(25275990016, "", 4) == "25.28GB"
    assert human_size(0, "", 4) == "0B"
    assert iec_size(352256) == "344KiB" and iec_size(25275990016) == "23.54GiB"


def _sample(**kw) -> Sample:
    base = dict(id="c" * 64, name="n", running=True, started_ns=1_000_000_000, read_ns=3_000_000_000,
                cpu_ns=500_000_000, mem_usage=100, mem_limit=400, pids=2,
                blkio=[(8, 0, "Read", 10), (8, 0, "Write", 20), (8, 16, "Read", 1)],
                networks={"eth0": NetCounters(rx_bytes=5, tx_bytes=7)})
    base.update(kw)
    return Sample(**base)


def test_cpu_percent_against_start_then_against_the_previous_sample():
    first = _sample()
    assert cpu_percent(first, None) == 25.0  # 0.5 s of CPU over 2 s since the start
    later = _sample(read_ns=4_000_000_000, cpu_ns=1_500_000_000)
    assert cpu_percent(later, first) == 100.0
    assert avg_cpu_percent(later) == 50.0
    assert cpu_percent(_sample(running=False), None) == 0.0


def test_docker_and_libpod_shapes():
    s = _sample()
    d = docker_stats(s, None)
    assert d["name"] == "/n" and d["cpu_stats"]["cpu_usage"]["total_usage"] == 500_000_000
    assert d["precpu_stats"]["cpu_usage"]["total_usage"] == 0 and d["preread"] == "0001-01-01T00:00:00Z"
    assert d["memory_stats"] == {"usage": 100, "max_usage": 0, "stats": {}, "limit": 400}
    assert d["networks"]["eth0"]["tx_bytes"] == 7 and d["pids_stats"] == {"current": 2}
    assert len(d["blkio_stats"]["io_service_bytes_recursive"]) == 3
    p = libpod_stats_entry(s, None)
    assert (p["BlockInput"], p["BlockOutput"], p["NetInput"], p["NetOutput"]) == (11, 20, 5, 7)
    assert p["MemPerc"] == 25.0 and p["CPU"] == 25.0
