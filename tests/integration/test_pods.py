"""Pods as podman makes them: an infra container running catatonit holds the
shared namespaces (the network one through netavark, with the pod's
published ports), the pod's containers see one another on localhost, and
the pod commands act on all of them; bad input changes nothing.

Each test runs on its own addresses and bridges (tests/hostnet.py)."""

from __future__ import annotations

import json

from tests.conftest import wait_for
from .test_networks import free_port, http_get, netns_files, sandbox_rows


def test_pod_shares_the_network_and_publishes_ports(net_pypod):
    nb = net_pypod.netblock
    port = free_port()
    pod_id = net_pypod.out("pod", "create", "--name", "web", "-p", f"127.0.0.1:{port}:80", "--label", "tier=front",
                           "--hostname", "podhost")
    assert len(pod_id) == 64
    assert net_pypod("pod", "exists", "web").returncode == 0
    assert net_pypod("pod", "exists", "nope", check=False).returncode == 1
    net_pypod("run", "-d", "--pod", "web", "--name", "srv", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc")
    # From the host, through the infra container's published port ...
    assert http_get(port).strip() == "podhost"
    # ... and from a second container of the pod, on localhost.
    out = net_pypod.out("run", "--rm", "--pod", "web", "busybox", "sh", "-c",
                        "wget -q -O - http://localhost/hostname; hostname; ip -o -4 addr show eth0")
    host, name, addr = out.splitlines()
    assert host == name == "podhost" and str(nb.default_subnet)[:-5] in addr
    info = json.loads(net_pypod.out("pod", "inspect", "web"))
    info = info[0] if isinstance(info, list) else info
    assert info["Id"] == pod_id and info["Name"] == "web" and info["State"] == "Running"
    assert info["Labels"] == {"tier": "front"} and info["NumContainers"] == 2
    infra = info["InfraContainerID"]
    assert info["InfraConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert sorted((c["Name"], c["Id"] == infra) for c in info["Containers"]) == [(f"{pod_id[:12]}-infra", True),
                                                                                  ("srv", False)]
    # The infra container runs catatonit and holds the pod's namespaces.
    top = net_pypod.out("pod", "top", "web")
    assert "catatonit -P" in top and "httpd -f -p 80" in top
    ps = net_pypod.out("ps", "-a", "--pod", "--format", "{{.Names}} {{.PodName}} {{.IsInfra}} {{.Ports}}").splitlines()
    assert sorted(r.split() for r in ps) == [[f"{pod_id[:12]}-infra", "web", "true", f"127.0.0.1:{port}->80/tcp"],
                                            ["srv", "web", "false"]]
    listed = json.loads(net_pypod.out("pod", "ps", "--format", "json"))
    assert [(p["Name"], p["Status"], len(p["Containers"])) for p in listed] == [("web", "Running", 2)]
    assert net_pypod.out("pod", "ps", "--filter", "label=tier=front", "--format", "{{.Name}}") == "web"
    assert net_pypod.out("pod", "ps", "--filter", "label=tier=back", "--format", "{{.Name}}") == ""
    assert net_pypod.out("inspect", "-f", "{{.Pod}}", "srv") == pod_id
    # rm without -f refuses a running pod; with -f everything goes, network included.
    r = net_pypod("pod", "rm", "web", check=False)
    assert r.returncode == 125 and b"running" in r.stderr
    assert net_pypod.out("pod", "rm", "-f", "-t", "0", "web") == pod_id
    assert net_pypod.out("ps", "-aq") == "" and net_pypod.out("pod", "ps", "-q") == ""
    assert sandbox_rows(net_pypod) == ([], []) and netns_files(net_pypod) == []
    assert not nb.iptables_rules()


def test_pod_lifecycle_commands(net_pypod):
    # run --pod new:NAME makes the pod on the way
    net_pypod("run", "-d", "--pod", "new:life", "--name", "l1", "busybox", "sleep", "1000")
    net_pypod("create", "--pod", "life", "--name", "l2", "busybox", "sleep", "1000")

    def states():
        return {c["Names"][0]: c["State"] for c in json.loads(net_pypod.out("ps", "-a", "--format", "json"))}

    def pod_status():
        return net_pypod.out("pod", "ps", "--format", "{{.Name}} {{.Status}}")

    # podman's word for a pod with some of its containers not running
    assert pod_status() == "life Degraded" and states()["l2"] == "created"
    net_pypod("pod", "start", "life")
    assert set(states().values()) == {"running"}
    net_pypod("exec", "l1", "sh", "-c", "echo from-l1 > /proc/1/fd/1")
    stats = net_pypod.out("pod", "stats", "--no-stream", "life").splitlines()
    assert stats[0].split()[:3] == ["POD", "CID", "NAME"] and len(stats) == 4  # infra, l1, l2
    assert any(" l1 " in row for row in stats) and all(row.split()[-1].isdigit() for row in stats[1:])
    logs = net_pypod.out("pod", "logs", "life")
    assert logs.endswith("from-l1") and logs.split()[0] == net_pypod.out("inspect", "-f", "{{.Id}}", "l1")[:12]
    net_pypod("pod", "pause", "life")
    assert pod_status() == "life Paused" and set(states().values()) == {"paused"}
    net_pypod("pod", "unpause", "life")
    assert set(states().values()) == {"running"}
    net_pypod("pod", "kill", "life")
    # kill returns once the signals are sent, as podman's; the exits follow
    assert wait_for(lambda: pod_status() == "life Exited") and set(states().values()) == {"exited"}
    net_pypod("pod", "restart", "life")
    assert pod_status() == "life Running"
    net_pypod("pod", "stop", "-t", "0", "life")
    assert pod_status() == "life Exited"
    # the network of a stopped pod is gone from the host until it starts again
    assert sandbox_rows(net_pypod)[0] == [] and not net_pypod.netblock.iptables_rules()
    net_pypod("pod", "create", "--name", "empty")
    stopped = sorted(net_pypod.out("pod", "ps", "-q", "--no-trunc").split())
    assert len(stopped) == 2 and sorted(net_pypod.out("pod", "prune", "-f").split()) == stopped
    assert net_pypod.out("pod", "ps", "-q") == "" and net_pypod.out("ps", "-aq") == ""


def test_pod_bad_input_changes_nothing(net_pypod):
    net_pypod("pod", "create", "--name", "keep")
    cases = [
        (["pod", "create", "--name", "keep"], "pod already exists"),
        (["pod", "create", "--share", "foo"], "invalid kernel namespace to share"),
        (["run", "--rm", "--pod", "nosuch", "busybox", "true"], "no pod with name or ID nosuch found"),
        (["run", "--rm", "--pod", "keep", "--network", "none", "busybox", "true"], ""),
        (["pod", "create", "-p", "99999:80"], "port numbers must be between 1 and 65535"),
    ]
    for argv, words in cases:
        r = net_pypod(*argv, check=False)
        assert r.returncode == 125, (argv, r.returncode, r.stderr)
        assert words.encode() in r.stderr, (argv, r.stderr)
    for argv, code in ((["pod", "start", "nosuch"], 125), (["pod", "rm", "nosuch"], 1), (["pod", "kill", "nosuch"], 125)):
        r = net_pypod(*argv, check=False)
        assert r.returncode == code and b"no pod with name or ID nosuch found" in r.stderr, (argv, r.stderr)
    assert net_pypod.out("pod", "ps", "--format", "{{.Name}}") == "keep"
    assert net_pypod.out("ps", "-a", "--format", "{{.Names}}").endswith("-infra")


def test_system_prune_takes_stopped_pods_and_unused_networks(net_pypod):
    nb = net_pypod.netblock
    used, unused = nb.name("used"), nb.name("unused")
    net_pypod("network", "create", "--subnet", nb.subnet(0), used)
    net_pypod("network", "create", "--subnet", nb.subnet(1), unused)
    net_pypod("run", "-d", "--network", used, "--name", "keep", "busybox", "sleep", "1000")
    stopped = net_pypod.out("pod", "create", "--name", "idle")
    net_pypod("run", "-d", "--pod", "new:busy", "--name", "inbusy", "busybox", "sleep", "1000")
    out = net_pypod.out("system", "prune", "-f").splitlines()
    assert out[:2] == ["Deleted Pods", stopped] and "Deleted Networks" in out
    assert out[out.index("Deleted Networks") + 1] == unused
    assert net_pypod.out("pod", "ps", "--format", "{{.Name}}") == "busy"
    assert sorted(net_pypod.out("network", "ls", "--format", "{{.Name}}").split()) == sorted([nb.default_network, used])
    assert sorted(net_pypod.out("ps", "--format", "{{.Names}}").split())[-2:] == ["inbusy", "keep"]
