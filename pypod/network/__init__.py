"""Networks, as podman builds them: definitions in netavark's JSON format,
IP addresses handed out by pypod (podman's libnetwork does the same, not
netavark), network namespaces made and bind-mounted before the runtime
creates the container, and `netavark setup`/`teardown` (which starts
aardvark-dns) to wire them.

Modules: types (the definitions and a container's network settings),
specs (parsing of what users type: -p, --network, --dns ...), netdefs (the
definitions on disk), store (addresses and sandboxes in the SQLite
store), netns (namespaces), ports (published host ports),
netavark (the binary), etcfiles (/etc/hosts, resolv.conf), sandbox (a
container's network from setup to teardown), report (inspect shapes).
"""
