#!/usr/bin/env bash
# Install pypod and what it needs on Debian, then run a real container.
#   ./scripts/setup.sh            install + `pypod run --rm busybox echo hello`
#   ./scripts/setup.sh --no-demo  install only
set -euo pipefail
cd "$(dirname "$0")/.."
# conmon, runc and busybox-static run containers; the rest are the real
# parts the tests use: podman (compared with, never needed), skopeo and
# docker-registry (registries), netavark, aardvark-dns, iptables and catatonit
# (networks, pods, --init), containers-common (seccomp.json), docker-compose,
# uidmap/slirp4netns/passt (rootless), buildah (builds compared), Cockpit's
# podman page and headless chromium (tests/cockpit drive the page).
pkgs=(conmon runc busybox-static python3-venv tmux
      podman skopeo docker-registry apache2-utils openssl
      netavark aardvark-dns iptables catatonit golang-github-containers-common
      docker-compose uidmap slirp4netns passt fuse-overlayfs buildah
      cockpit-ws cockpit-bridge cockpit-podman chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Rootless networking opens /dev/net/tun: udev would make it 0666, machines
# without udev may leave it 0600 (root's alone).
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" = 600 ]; then
  chmod 0666 /dev/net/tun
fi
# Debian's python3 (built with PGO and LTO, libpython linked in) starts
# ~1.5 ms sooner and runs pypod's own code ~15% faster than a Python built
# without them that may come first on PATH (pyenv's): 4-9 ms of every
# `exec` and `run`.  A venv made from another interpreter is made again.
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
base() { "$1" -c 'import os, sys; print(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))'; }
if [ -x .venv/bin/python ] && [ "$(base .venv/bin/python)" != "$(base "$py")" ]; then
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
# compat mode: a plain path entry, not an import hook that costs every CLI call
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]' --config-settings editable_mode=compat
# `pypod` itself: a launcher without site.py's start-up cost
.venv/bin/python scripts/write_launcher.py
# Byte-compile now: with PYTHONDONTWRITEBYTECODE set, each `pypod` call would
# otherwise recompile its modules.
.venv/bin/python -m compileall -q pypod >/dev/null
if [ "${1:-}" != "--no-demo" ]; then
  # The first use of `busybox` builds the embedded default image from the
  # host's busybox-static binary; no network is needed.
  .venv/bin/pypod run --rm busybox echo hello
fi
