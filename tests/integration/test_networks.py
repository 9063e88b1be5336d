"""Networks through netavark and aardvark-dns, as podman builds them: the
default bridge, created networks, published ports reached from the host,
names resolved between containers, connect/disconnect, the other network
modes, and bad input that must change nothing.

Every test runs on its own block of addresses and bridge names
(tests/hostnet.py); net_pypod checks that nothing is left on the host."""

from __future__ import annotations

import json
import os
import socket
import urllib.request

import pytest

from ..conftest import wait_for


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(port: int, path: str = "/hostname", host: str = "127.0.0.1") -> str:
    def get():
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=2) as r:
                return r.read().decode()
        except OSError:
            return ""

    return wait_for(get, timeout=10, interval=0.1)


def sandbox_rows(pypod) -> tuple[list, list]:
    eng = pypod.engine()
    try:
        return eng.netstore.sandboxes(), eng.netstore._db.execute("SELECT network, ip FROM net_allocations").fetchall()
    finally:
        eng.close()


def netns_files(pypod) -> list[str]:
    d = os.path.join(pypod.runroot, "netns")
    return os.listdir(d) if os.path.isdir(d) else []


def test_default_bridge_ports_and_etc_files(net_pypod):
    """run joins the default network (made on first use); a published port
    answers from the host; /etc files say what podman's say."""
    nb = net_pypod.netblock
    port = free_port()
    cid = net_pypod.out("run", "-d", "--name", "web", "-p", f"{port}:80", "--add-host", "db.example:10.1.2.3",
                        "--dns-search", "example.org", "--expose", "7000", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc")
    assert http_get(port).strip() == cid[:12]
    info = json.loads(net_pypod.out("inspect", "web"))[0]
    ns = info["NetworkSettings"]
    net = ns["Networks"][nb.default_network]
    ip = net["IPAddress"]
    assert ip.startswith(str(nb.default_subnet.network_address)[:-1]) and net["Gateway"] == str(nb.default_subnet[1])
    assert ns["IPAddress"] == ip and ns["MacAddress"] == net["MacAddress"] != ""
    assert ns["Ports"] == {"80/tcp": [{"HostIp": "", "HostPort": str(port)}], "7000/tcp": None}
    assert info["HostConfig"]["NetworkMode"] == "bridge" and info["HostConfig"]["ExtraHosts"] == ["db.example:10.1.2.3"]
    hosts = net_pypod.out("exec", "web", "cat", "/etc/hosts")
    assert "10.1.2.3\tdb.example" in hosts and f"{ip}\t{cid[:12]} web" in hosts
    assert f"{nb.default_subnet[1]}\thost.containers.internal" in hosts
    resolv = net_pypod.out("exec", "web", "cat", "/etc/resolv.conf")
    assert "search example.org" in resolv and "127.0.0.53" not in resolv
    assert net_pypod.out("exec", "web", "hostname") == cid[:12]
    assert net_pypod.out("port", "web") == f"80/tcp -> 0.0.0.0:{port}"
    assert net_pypod.out("port", "web", "80") == f"0.0.0.0:{port}"
    assert f"0.0.0.0:{port}->80/tcp" in net_pypod.out("ps")
    assert nb.default_interface in nb.bridges()
    # The held port: another program cannot take it while the container runs.
    s = socket.socket()
    with pytest.raises(OSError):
        s.bind(("0.0.0.0", port))
    s.close()
    net_pypod("rm", "-f", "-t", "0", "web")
    assert not nb.bridges() and not nb.iptables_rules()
    assert sandbox_rows(net_pypod) == ([], []) and netns_files(net_pypod) == []


def test_created_network_dns_aliases_and_rm(net_pypod):
    nb = net_pypod.netblock
    sub = nb.subnet(0)
    app = nb.name("appnet")
    assert net_pypod.out("network", "create", "--subnet", sub, "--label", "team=a", app) == app
    assert net_pypod("network", "exists", app).returncode == 0
    assert net_pypod("network", "exists", "nope", check=False).returncode == 1
    ls = net_pypod.out("network", "ls", "--filter", "label=team=a", "--format", "{{.Name}} {{.Driver}}")
    assert ls == f"{app} bridge"
    net = json.loads(net_pypod.out("network", "inspect", app))[0]
    assert net["subnets"] == [{"subnet": sub, "gateway": str(next(__import__("ipaddress").ip_network(sub).hosts()))}]
    assert net["dns_enabled"] is True and net["network_interface"].startswith(nb.prefix + "n")
    assert net_pypod.out("network", "inspect", app, "--format", "{{range .Subnets}}{{.Subnet}} {{.Gateway}}{{end}}") == \
        f"{sub} {net['subnets'][0]['gateway']}"
    # The definition is netavark's JSON under pypod's root.
    with open(os.path.join(net_pypod.root, "networks", f"{app}.json")) as f:
        assert json.load(f)["id"] == net["id"]
    net_pypod("run", "-d", "--name", "srv", "--network", app, "--network-alias", "api", "busybox",
              "httpd", "-f", "-p", "80", "-h", "/etc")
    out = net_pypod.out("run", "--rm", "--network", app, "busybox", "sh", "-c",
                        "for n in srv api; do timeout 5 wget -q -O - http://$n/hostname; done; nslookup srv | grep Address: | tail -1")
    srv_id = net_pypod.out("inspect", "-f", "{{.Id}}", "srv")[:12]
    lines = out.splitlines()
    assert lines[:2] == [srv_id, srv_id]
    assert any(sub.rsplit(".", 1)[0] in ln for ln in lines[2:])
    r = net_pypod("network", "rm", app, check=False)
    assert r.returncode == 2 and b"has associated containers with it" in r.stderr
    assert net_pypod.out("network", "rm", "-f", app) == app
    assert net_pypod.out("ps", "-aq") == ""
    assert not nb.bridges() and not nb.iptables_rules()
    assert not os.listdir(os.path.join(net_pypod.runroot, "networks", "aardvark-dns")) or not any(
        open(os.path.join(net_pypod.runroot, "networks", "aardvark-dns", f)).read().strip()
        for f in os.listdir(os.path.join(net_pypod.runroot, "networks", "aardvark-dns")) if f.startswith(app))


def test_connect_and_disconnect_a_running_container(net_pypod):
    nb = net_pypod.netblock
    second = nb.name("second")
    net_pypod("network", "create", "--subnet", nb.subnet(1), second)
    net_pypod("run", "-d", "--name", "c", "busybox", "sleep", "1000")
    assert "eth1" not in net_pypod.out("exec", "c", "ip", "-o", "link")
    net_pypod("network", "connect", "--alias", "other", second, "c")
    info = json.loads(net_pypod.out("inspect", "c"))[0]["NetworkSettings"]["Networks"]
    ip2 = info[second]["IPAddress"]
    assert set(info) == {nb.default_network, second} and ip2.startswith(nb.subnet(1).rsplit(".", 1)[0])
    assert ip2 in net_pypod.out("exec", "c", "ip", "-o", "addr", "show", "eth1")
    assert ip2 in net_pypod.out("exec", "c", "cat", "/etc/hosts")
    r = net_pypod("network", "connect", second, "c", check=False)
    assert r.returncode == 125 and b"already connected" in r.stderr
    net_pypod("network", "disconnect", second, "c")
    assert "eth1" not in net_pypod.out("exec", "c", "ip", "-o", "link")
    assert ip2 not in net_pypod.out("exec", "c", "cat", "/etc/hosts")
    assert set(json.loads(net_pypod.out("inspect", "c"))[0]["NetworkSettings"]["Networks"]) == {nb.default_network}
    # reload puts the firewall rules back after someone flushed them
    cid = net_pypod.out("inspect", "-f", "{{.Id}}", "c")
    assert net_pypod.out("network", "reload", "c") == cid


def test_other_network_modes(net_pypod):
    nb = net_pypod.netblock
    assert net_pypod.out("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net") == "lo"
    host_ifaces = sorted(os.listdir("/sys/class/net"))
    assert sorted(net_pypod.out("run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net").split()) == host_ifaces
    net_pypod("run", "-d", "--name", "base", "busybox", "sleep", "1000")
    ip = json.loads(net_pypod.out("inspect", "base"))[0]["NetworkSettings"]["IPAddress"]
    out = net_pypod.out("run", "--rm", "--network", "container:base", "busybox", "sh", "-c", "ip -o addr show eth0; cat /etc/hosts")
    assert ip in out
    from pypod.network import netns

    path = os.path.join(net_pypod.runroot, "testns")
    netns.create(path)
    try:
        assert net_pypod.out("run", "--rm", "--network", f"ns:{path}", "busybox", "ls", "/sys/class/net") == "lo"
    finally:
        netns.remove(path)
    # several networks at once
    n2 = nb.name("n2")
    net_pypod("network", "create", "--subnet", nb.subnet(2), n2)
    out = net_pypod.out("run", "--rm", "--network", f"{nb.default_network},{n2}", "busybox", "ls", "/sys/class/net")
    assert out.split() == ["eth0", "eth1", "lo"]


def test_static_ip_mac_and_random_ports(net_pypod):
    nb = net_pypod.netblock
    sub = nb.subnet(3)
    ranged = nb.name("ranged")
    net_pypod("network", "create", "--subnet", sub, "--ip-range", sub.rsplit(".", 1)[0] + ".128/25", ranged)
    static = sub.rsplit(".", 1)[0] + ".9"
    net_pypod("run", "-d", "--name", "s", "--network", ranged, "--ip", static, "--mac-address", "92:d0:c6:0a:29:33",
              "-p", "127.0.0.1::80", "-P", "--expose", "81", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc")
    info = json.loads(net_pypod.out("inspect", "s"))[0]
    ep = info["NetworkSettings"]["Networks"][ranged]
    assert ep["IPAddress"] == static and ep["MacAddress"] == "92:d0:c6:0a:29:33"
    ports = info["NetworkSettings"]["Ports"]
    host80 = int(ports["80/tcp"][0]["HostPort"])
    assert ports["80/tcp"][0]["HostIp"] == "127.0.0.1" and host80 > 0 and int(ports["81/tcp"][0]["HostPort"]) > 0
    assert http_get(host80).strip() == info["Id"][:12]
    dyn = net_pypod.out("run", "--rm", "--network", ranged, "busybox", "ip", "-o", "-4", "addr", "show", "eth0")
    assert int(dyn.split("inet ")[1].split("/")[0].rsplit(".", 1)[1]) >= 128  # from the --ip-range
    r = net_pypod("run", "--rm", "--network", ranged, "--ip", static, "busybox", "true", check=False)
    assert r.returncode == 125 and b"already allocated" in r.stderr


def test_bad_input_is_refused_and_changes_nothing(net_pypod):
    nb = net_pypod.netblock
    used = nb.name("used")
    net_pypod("network", "create", "--subnet", nb.subnet(4), used)
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    taken.bind(("0.0.0.0", 0))
    taken.listen()
    busy = taken.getsockname()[1]
    net_pypod("create", "--name", "stopped", "busybox", "true")
    cases = [
        (["run", "--rm", "-p", f"{busy}:80", "busybox", "true"], "address already in use"),
        (["run", "--rm", "--network", "nosuchnet", "busybox", "true"], "unable to find network with name or ID nosuchnet"),
        (["network", "create", "--subnet", nb.subnet(4), nb.name("overlap")], "is already used on the host or by another config"),
        (["network", "create", "--subnet", str(nb.default_subnet), nb.name("overlap2")], "is already used on the host or by another config"),
        (["run", "--rm", "--network", "container:stopped", "busybox", "true"], "is running: container is stopped"),
        (["run", "--rm", "-p", "99999:80", "busybox", "true"], "port numbers must be between 1 and 65535"),
        (["run", "--rm", "-p", "1-3:80", "busybox", "true"], "different lengths"),
        (["run", "--rm", "-p", "80/sctpx", "busybox", "true"], 'unrecognized protocol "sctpx"'),
        (["run", "--rm", "--network", "none", "--ip", "10.1.1.1", "busybox", "true"], "can only be set when the network mode is bridge"),
        (["run", "--rm", "--no-hosts", "--add-host", "a:1.1.1.1", "busybox", "true"], "cannot be set together"),
        (["network", "create", "bad name"], "names must match"),
        (["network", "create", "--subnet", "10.9.9.0/24", "--gateway", "10.9.10.1", nb.name("gw")], "not in subnet"),
        (["network", "create", "-d", "nope", nb.name("drv")], "unsupported driver nope"),
    ]
    try:
        for argv, words in cases:
            r = net_pypod(*argv, check=False)
            assert r.returncode == 125, (argv, r.returncode, r.stderr)
            assert words.encode() in r.stderr, (argv, r.stderr)
    finally:
        taken.close()
    r = net_pypod("network", "rm", "nosuch", check=False)
    assert r.returncode == 1
    assert net_pypod.out("ps", "-a", "--format", "{{.Names}}") == "stopped"
    assert sorted(net_pypod.out("network", "ls", "--format", "{{.Name}}").split()) == sorted([nb.default_network, used])
    assert sandbox_rows(net_pypod) == ([], []) and netns_files(net_pypod) == []
    assert not nb.bridges() and not nb.iptables_rules()
