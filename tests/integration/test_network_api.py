"""Networks, published ports and pods through the REST service, driven by
the real clients: docker-py (Docker's /networks and container create's
network fields), podman-py and `podman --remote` (libpod's networks and
pods), and docker-compose 1.29 (a two-service project on its own network,
one service reaching the other by name, a port published to the host).

Each test runs on its own addresses and bridges (tests/hostnet.py): network
names carry the test's prefix, since netavark names firewall chains after
them."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ..conftest import wait_for
from .test_networks import free_port, http_get, netns_files, sandbox_rows


@pytest.fixture
def net_service(net_pypod, tmp_path):
    sock = str(tmp_path / "api.sock")
    proc = subprocess.Popen([*net_pypod.argv, "system", "service", "--time", "0", f"unix://{sock}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert wait_for(lambda: os.path.exists(sock), timeout=15), proc.stderr.read() if proc.poll() is not None else ""
    yield net_pypod, sock
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def assert_nothing_left(pypod) -> None:
    assert pypod.out("ps", "-aq") == ""
    assert sandbox_rows(pypod) == ([], []) and netns_files(pypod) == []
    assert not pypod.netblock.iptables_rules()


def test_docker_py_networks_and_ports(net_service):
    docker = pytest.importorskip("docker")
    pypod, sock = net_service
    nb = pypod.netblock
    c = docker.DockerClient(base_url=f"unix://{sock}", version="1.41")
    name, other = nb.name("dpy"), nb.name("dpy2")
    net = c.networks.create(name, labels={"team": "a"}, ipam=docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet=nb.subnet(0))]))
    assert net.attrs["Driver"] == "bridge" and net.attrs["Labels"] == {"team": "a"}
    assert net.attrs["IPAM"]["Config"][0]["Subnet"] == nb.subnet(0)
    srv = c.containers.run("busybox", ["httpd", "-f", "-p", "80", "-h", "/etc"], detach=True, name="srv",
                           network=name, ports={"80/tcp": ("127.0.0.1", None)})
    srv.reload()
    ns = srv.attrs["NetworkSettings"]
    binding = ns["Ports"]["80/tcp"][0]
    assert binding["HostIp"] == "127.0.0.1" and int(binding["HostPort"]) > 0
    assert list(ns["Networks"]) == [name] and ns["Networks"][name]["IPAddress"].startswith(nb.subnet(0)[:-4])
    assert http_get(int(binding["HostPort"])).strip() == srv.id[:12]
    net.reload()
    assert [x.name for x in net.containers] == ["srv"]
    # another container resolves the first by name on their network
    out = c.containers.run("busybox", ["wget", "-q", "-O", "-", "http://srv/hostname"], network=name, remove=True)
    assert out.strip() == srv.id[:12].encode()
    # a static address and an alias from NetworkingConfig, ExtraHosts, Dns*, PublishAllPorts
    static = nb.subnet(0)[:-4] + "50"
    nc = c.api.create_networking_config({name: c.api.create_endpoint_config(ipv4_address=static, aliases=["al1"])})
    hc = c.api.create_host_config(extra_hosts={"extra": "192.0.2.4"}, dns=["192.0.2.53"], dns_search=["ex.org"],
                                  publish_all_ports=True)
    r = c.api.create_container("busybox", ["sh", "-c", "cat /etc/hosts /etc/resolv.conf; ip -o -4 addr show eth0; sleep 1000"],
                               host_config=hc, networking_config=nc, ports=[81], name="st")
    c.api.start(r["Id"])
    info = c.api.inspect_container(r["Id"])
    ep = info["NetworkSettings"]["Networks"][name]
    assert ep["IPAddress"] == static and "al1" in ep["Aliases"]
    assert info["HostConfig"]["ExtraHosts"] == ["extra:192.0.2.4"] and info["HostConfig"]["Dns"] == ["192.0.2.53"]
    assert int(info["NetworkSettings"]["Ports"]["81/tcp"][0]["HostPort"]) > 0
    logs = wait_for(lambda: (lambda t: t if "inet" in t else "")(c.api.logs(r["Id"]).decode()))
    assert "192.0.2.4\textra" in logs and "nameserver 192.0.2.53" in logs and "search ex.org" in logs
    assert f"inet {static}/24" in logs
    c.api.remove_container(r["Id"], force=True)
    net2 = c.networks.create(other)
    net2.connect(srv, aliases=["second-name"])
    srv.reload()
    assert set(srv.attrs["NetworkSettings"]["Networks"]) == {name, other}
    assert "second-name" in srv.attrs["NetworkSettings"]["Networks"][other]["Aliases"]
    net2.disconnect(srv)
    srv.reload()
    assert set(srv.attrs["NetworkSettings"]["Networks"]) == {name}
    assert {n.name for n in c.networks.list()} == {nb.default_network, name, other}
    assert [n.name for n in c.networks.list(filters={"label": "team=a"})] == [name]
    with pytest.raises(docker.errors.APIError) as e:
        net.remove()  # in use
    assert e.value.status_code == 409
    with pytest.raises(docker.errors.NotFound):
        c.networks.get("nosuchnet")
    with pytest.raises(docker.errors.NotFound):
        c.containers.run("busybox", ["true"], network="nosuchnet", remove=True)
    srv.remove(force=True)
    net.remove()
    assert c.networks.prune()["NetworksDeleted"] == [other]
    assert_nothing_left(pypod)


def test_podman_py_pods_and_networks(net_service):
    podman = pytest.importorskip("podman")
    pypod, sock = net_service
    nb = pypod.netblock
    p = podman.PodmanClient(base_url=f"http+unix://{sock}")
    port = free_port()
    pod = p.pods.create("ppod", portmappings=[{"host_ip": "127.0.0.1", "container_port": 80, "host_port": port}])
    assert p.pods.exists("ppod") and not p.pods.exists("nope")
    ctr = p.containers.create("busybox", ["httpd", "-f", "-p", "80", "-h", "/etc"], pod="ppod", name="inpod")
    pod.start()
    pod.reload()
    assert pod.attrs["State"] == "Running" and pod.attrs["NumContainers"] == 2
    assert http_get(port).strip() == "ppod"  # the pod's hostname, through the infra's published port
    assert [x.name for x in p.pods.list()] == ["ppod"]
    titles_and_rows = pod.top()
    assert any("catatonit" in " ".join(map(str, row)) for row in titles_and_rows["Processes"])
    pod.stop(timeout=0)
    pod.reload()
    assert pod.attrs["State"] == "Exited"
    pod.remove(force=True)
    assert not p.pods.exists("ppod") and not p.containers.exists(ctr.id)
    name = nb.name("ppn")
    net = p.networks.create(name, subnets=[{"subnet": nb.subnet(1), "gateway": nb.subnet(1)[:-4] + "1"}])
    assert net.name == name and p.networks.exists(name)
    assert {n.name for n in p.networks.list()} == {nb.default_network, name}
    assert p.networks.get(name).attrs["subnets"][0]["subnet"] == nb.subnet(1)
    net.remove()
    assert not p.networks.exists(name)
    assert_nothing_left(pypod)


@pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed")
def test_podman_remote_pods_and_networks(net_service, tmp_path):
    pypod, sock = net_service
    nb = pypod.netblock
    env = {**os.environ, "CONTAINER_HOST": f"unix://{sock}", "HOME": str(tmp_path)}

    def remote(*args):
        p = subprocess.run(["podman", "--remote", *args], capture_output=True, env=env, timeout=60)
        return p.returncode, p.stdout.decode().strip(), p.stderr.decode()

    port = free_port()
    code, pod_id, err = remote("pod", "create", "--name", "rp", "-p", f"127.0.0.1:{port}:80")
    assert code == 0 and len(pod_id) == 64, err
    assert remote("run", "-d", "--pod", "rp", "--name", "rweb", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc")[0] == 0
    assert http_get(port).strip() == "rp"
    code, out, _ = remote("pod", "ps", "--format", "{{.Name}} {{.Status}} {{.NumberOfContainers}}")
    assert out == "rp Running 2"
    assert "catatonit" in remote("pod", "top", "rp")[1]
    name = nb.name("rn")
    assert remote("network", "create", "--subnet", nb.subnet(2), name)[1] == name
    assert remote("network", "exists", name)[0] == 0
    assert name in remote("network", "ls", "--format", "{{.Name}}")[1].split()
    assert remote("network", "rm", name)[1] == name
    assert remote("pod", "rm", "-f", "rp")[1] == pod_id
    assert_nothing_left(pypod)


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose is not installed")
def test_docker_compose_two_services(net_service, tmp_path):
    pypod, sock = net_service
    nb = pypod.netblock
    port = free_port()
    project = tmp_path / "proj"
    project.mkdir()
    (project / "docker-compose.yml").write_text(f"""\
version: "3"
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-v", "-p", "80", "-h", "/etc"]
    ports:
      - "127.0.0.1:{port}:80"
  client:
    image: busybox
    command: ["sleep", "1000"]
""")
    # The project's name names its network, and netavark its chains after that.
    env = {**os.environ, "DOCKER_HOST": f"unix://{sock}", "COMPOSE_PROJECT_NAME": nb.name("c"), "HOME": str(tmp_path)}

    def compose(*args):
        p = subprocess.run(["docker-compose", "--ansi", "never", *args], cwd=project, capture_output=True, env=env, timeout=120)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p.stdout.decode()

    compose("up", "-d")
    web_id = pypod.out("ps", "--filter", "label=com.docker.compose.service=web", "--format", "{{.ID}}")
    assert http_get(port).strip() == web_id[:12]
    # the client reaches the web service by its service name
    assert compose("exec", "-T", "client", "wget", "-q", "-O", "-", "http://web/hostname").strip() == web_id[:12]
    ps = compose("ps")
    assert f"127.0.0.1:{port}->80/tcp" in ps and ps.count(" Up ") == 2
    logs = compose("logs", "--no-color", "web")
    assert "response:200" in logs
    assert nb.name("c_default") in pypod.out("network", "ls", "--format", "{{.Name}}").split()
    compose("down", "-t", "0")
    assert pypod.out("network", "ls", "--format", "{{.Name}}") == nb.default_network
    assert_nothing_left(pypod)
