"""A hundred containers on one network (issue 8): every one gets its own
address and its name in aardvark-dns, and is reached by that name from a
container of the network; members at both ends and in the middle resolve
every other one.  Created one by one, started by one `start` of all."""

from __future__ import annotations

N = 100

# Retried, bounded: aardvark-dns reloads its records on a signal, after
# netavark has returned.  (busybox 1.35's wget crashes on -T: timeout(1).)
_FETCH_ALL = """
for n in "$@"; do
  i=0
  until out=$(timeout 2 wget -q -O - http://$n/hostname 2>/dev/null) || [ $i -ge 30 ]; do i=$((i+1)); sleep 0.1; done
  echo "$n $out"
done
"""

_RESOLVE_ALL = """
for n in "$@"; do
  i=0
  until addr=$(nslookup $n 2>/dev/null | sed -n '/^Name:/,$ s/^Address: *//p' | head -1) && [ -n "$addr" ] || [ $i -ge 30 ]; do
    i=$((i+1)); sleep 0.1
  done
  echo "$n $addr"
done
"""


def test_a_hundred_containers_reach_each_other_by_name(net_pypod):
    nb = net_pypod.netblock
    net = nb.name("big")
    net_pypod("network", "create", "--subnet", nb.subnet(5), net)
    names = [f"m{i}" for i in range(N)]
    ids = {}
    for name in names:
        ids[name] = net_pypod.out("create", "--network", net, "--name", name, "busybox",
                                  "httpd", "-f", "-p", "80", "-h", "/etc")
    net_pypod("start", *names)
    addrs = {name: net_pypod.out("inspect", "-f", f"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}", name)
             for name in names}
    assert len(set(addrs.values())) == N and all(a.startswith(nb.subnet(5)[:-4]) for a in addrs.values())
    out = net_pypod.out("run", "--rm", "--network", net, "busybox", "sh", "-c", _FETCH_ALL, "sh", *names, timeout=300)
    assert dict(line.split() for line in out.splitlines()) == {n: ids[n][:12] for n in names}
    for member in (names[0], names[N // 2], names[-1]):
        out = net_pypod.out("exec", member, "sh", "-c", _RESOLVE_ALL, "sh", *names, timeout=300)
        assert dict(line.split() for line in out.splitlines()) == addrs, member
    net_pypod("rm", "-f", "-t", "0", *names, timeout=300)
    net_pypod("network", "rm", net)
