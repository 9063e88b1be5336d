"""A throwaway unprivileged user that runs the real pypod (for the rootless
tests and bench/bench_rootless.py).

useradd gives the user a home and, from /etc/login.defs, a range in
/etc/subuid and /etc/subgid (its own lock keeps parallel useradds apart);
the name is unique per process.  The user cannot read root's interpreter
(pyenv lives under /root, 0700) nor, perhaps, the checkout, so pypod and
its two dependencies are copied into a world-readable directory and run
by an interpreter the user can execute, of the same Python version (the
compiled zstd module is for it).  remove() ends every process of the user
and of its subordinate range (the pause process, conmon, containers),
then userdel -r takes the user, its home and its ranges.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _user_can_run(path: str) -> bool:
    """Every directory on the way is searchable by others and the file executable by them."""
    real = os.path.realpath(path)
    d = os.path.dirname(real)
    while d != "/":
        if not os.stat(d).st_mode & 0o001:
            return False
        d = os.path.dirname(d)
    return bool(os.stat(real).st_mode & 0o001)


def interpreter() -> str | None:
    """A python3 of this one's version that any user may run (None: none here)."""
    want = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for cand in (sys.executable, shutil.which(want) or "", f"/usr/bin/{want}", "/usr/bin/python3"):
        if not cand or not os.path.exists(cand) or not _user_can_run(cand):
            continue
        out = subprocess.run([cand, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
        if out == want[len("python"):]:
            return cand
    return None


def missing() -> str | None:
    """Why rootless tests cannot run here (None: they can)."""
    if os.geteuid() != 0:
        return "making a throwaway user needs root"
    for tool in ("useradd", "userdel", "newuidmap", "newgidmap", "catatonit", "conmon", "runc"):
        if not shutil.which(tool):
            return f"{tool} is not installed (scripts/setup.sh installs it)"
    if interpreter() is None:
        return f"no python{sys.version_info[0]}.{sys.version_info[1]} that an unprivileged user may run"
    return None


class RootlessUser:
    """useradd'd on creation; call remove() (fixtures do) to take it all away."""

    def __init__(self, prefix: str = "pprl"):
        self.name = f"{prefix}{uuid.uuid4().hex[:10]}"
        self.base = tempfile.mkdtemp(prefix=f"pypod-{self.name}-")
        os.chmod(self.base, 0o755)
        try:
            subprocess.run(["useradd", "-m", "-s", "/bin/sh", self.name], check=True, capture_output=True)
        except subprocess.CalledProcessError as e:
            shutil.rmtree(self.base, ignore_errors=True)
            raise RuntimeError(f"useradd {self.name}: {e.stderr.decode().strip()}") from None
        import pwd

        pw = pwd.getpwnam(self.name)
        self.uid, self.gid, self.home = pw.pw_uid, pw.pw_gid, pw.pw_dir
        self.subuid = self._range("/etc/subuid")
        self.runtime_dir = os.path.join(self.base, "xdg")
        os.mkdir(self.runtime_dir, 0o700)
        os.chown(self.runtime_dir, self.uid, self.gid)
        self.launcher = self._install()
        self.env = {"HOME": self.home, "USER": self.name, "LOGNAME": self.name, "SHELL": "/bin/sh",
                    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "XDG_RUNTIME_DIR": self.runtime_dir,
                    "CONTAINERS_REGISTRIES_CONF": os.path.join(self.base, "registries.conf")}
        with open(self.env["CONTAINERS_REGISTRIES_CONF"], "w"):
            pass
        os.chmod(self.env["CONTAINERS_REGISTRIES_CONF"], 0o644)

    def _range(self, path: str) -> tuple[int, int]:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(":")
                if parts[0] == self.name:
                    return int(parts[1]), int(parts[2])
        return (0, 0)

    def _install(self) -> str:
        """pypod (without tests), h11 and backports.zstd under base/lib, compiled,
        and a launcher beside a python3 link, so that conmon's exit command
        (the pypod beside sys.executable) finds pypod again."""
        lib = os.path.join(self.base, "lib")
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(os.path.join(REPO, "pypod"), os.path.join(lib, "pypod"), ignore=ignore)
        for mod, top in (("h11", "h11"), ("backports.zstd", "backports")):
            spec = importlib.util.find_spec(mod)
            if spec and spec.origin:
                src = os.path.dirname(spec.origin)
                if top != mod:
                    src = os.path.dirname(src)
                shutil.copytree(src, os.path.join(lib, top), ignore=ignore, dirs_exist_ok=True)
        python = interpreter()
        self.lib, self.python = lib, python
        subprocess.run([python, "-m", "compileall", "-q", lib], check=True, capture_output=True)
        bindir = os.path.join(self.base, "bin")
        os.mkdir(bindir, 0o755)
        os.symlink(python, os.path.join(bindir, "python3"))
        launcher = os.path.join(bindir, "pypod")
        with open(launcher, "w") as f:
            f.write(f"#!{bindir}/python3 -S\nimport sys\nsys.path[1:1] = [{lib!r}]\n"
                    "from pypod.cli.main import main\nsys.exit(main())\n")
        os.chmod(launcher, 0o755)
        for dirpath, dirnames, filenames in os.walk(lib):
            os.chmod(dirpath, 0o755)
            for n in filenames:
                os.chmod(os.path.join(dirpath, n), 0o644)
        return launcher

    # -- running things as the user --------------------------------------------------

    def run(self, argv: list[str], *, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
        kw.setdefault("capture_output", True)
        kw.setdefault("timeout", 120)
        if "input" not in kw:
            kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(argv, user=self.uid, group=self.gid, extra_groups=[], cwd="/",
                              env={**self.env, **(env or {})}, **kw)

    def popen(self, argv: list[str], **kw) -> subprocess.Popen:
        return subprocess.Popen(argv, user=self.uid, group=self.gid, extra_groups=[], cwd="/",
                                env={**self.env, **kw.pop("env", {})}, **kw)

    def pypod(self, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        proc = self.run([self.launcher, *args], **kw)
        if check and proc.returncode != 0:
            raise AssertionError(f"pypod {' '.join(args)} (as {self.name}) exited {proc.returncode}: "
                                 f"{proc.stderr.decode(errors='replace')}")
        return proc

    def out(self, *args: str, **kw) -> str:
        return self.pypod(*args, **kw).stdout.decode().strip()

    # -- the end ---------------------------------------------------------------------

    def processes(self) -> list[int]:
        """PIDs running as the user or as an ID of its subordinate range."""
        lo, count = self.subuid
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as f:
                    for line in f:
                        if line.startswith("Uid:"):
                            uid = int(line.split()[1])
                            if uid == self.uid or (count and lo <= uid < lo + count):
                                out.append(int(entry))
                            break
            except (OSError, ValueError):
                pass
        return out

    def remove(self) -> list[int]:
        """Everything of the user's away; returns the PIDs that had to be killed."""
        killed = []
        for _ in range(20):
            pids = self.processes()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        subprocess.run(["userdel", "-r", "-f", self.name], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)
        return sorted(set(killed))
