"""Who finishes a container's exit: the pypod in the foreground, or conmon's
exit command when that pypod is gone.

conmon runs its exit command (`pypod container cleanup`) the moment the
container exits, whether or not a `pypod run` is still attached.  An
attached run that waits for the exit anyway does the cleanup itself (it has
everything loaded, and the user waits for it); two processes racing for the
same work would each pay for it and queue on the container's lock.

So the foreground pypod *claims* the exit before the process can start: it
creates a claim file and holds an exclusive flock on it until its own
cleanup is done, then unlinks the file and lets go.  The exit command looks
for the file first (before it loads the engine): absent, it cleans up as
always; present, it waits on the flock, which the kernel releases whether
the claimant finished or died.  Woken, a claim file that is gone means the
work is done; one still there means its claimant died on the way (or the
user detached), and the exit command does the cleanup after all.  Either
way the work is done once, and nothing waits on a guess or a timeout.
"""

from __future__ import annotations

import fcntl
import os

CLAIM_FILE = "exit.claim"


class ExitClaim:
    """Held by the foreground pypod from before the start until its cleanup ends."""

    def __init__(self, directory: str):
        self.path = os.path.join(directory, CLAIM_FILE)
        self._fd = -1

    def take(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # uncontended: only a claimant takes it exclusively
        self._fd = fd

    def release(self, done: bool) -> None:
        """done: the cleanup is finished and the exit command has nothing left
        to do.  Not done (detached, or failed): the exit command does it."""
        if self._fd < 0:
            return
        if done:
            try:
                os.unlink(self.path)  # before the unlock: a woken waiter must find it gone
            except FileNotFoundError:
                pass  # the cleanup removed its directory, claim and all
        os.close(self._fd)
        self._fd = -1


def finished_by_claimant(directory: str) -> bool:
    """For the exit command: True when a foreground pypod claimed this exit and
    completed it (waiting for it to end first), or already had when we
    looked: the cleanup removes the directory the claim lives in, which
    existed before the container ran.  False when the work is ours."""
    path = os.path.join(directory, CLAIM_FILE)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return not os.path.isdir(directory)
    except NotADirectoryError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # returns when the claimant lets go or dies
        try:
            return os.stat(path).st_ino != os.fstat(fd).st_ino
        except FileNotFoundError:
            return True
    finally:
        os.close(fd)


#: finished_by_claimant's common case in the shell, before any Python starts:
#: a Python exit command costs ~14 ms of CPU to learn that the foreground
#: pypod did the work, paid by every attached run while that pypod cleans up
#: beside it.  It skips the work only when it has seen the claim let go and
#: gone (or replaced); anything else (the claimant died, no claim, no flock
#: binary) goes on to `pypod container cleanup`, which looks again.
_EXIT_SCRIPT = """d=$1; shift; c=$d/exit.claim; finished=
if [ -e "$c" ]; then
  { flock -s 3 && ! [ "$c" -ef /dev/fd/3 ]; } 3<"$c" 2>/dev/null && finished=1
elif ! [ -d "$d" ]; then
  finished=1
fi
if [ "$finished" ]; then
  case $PYPOD_TRACE in /*) echo "pypod[$$] trace   exit command: the foreground pypod finished this exit" >>"$PYPOD_TRACE";; esac
  exit 0
fi
exec "$@"
"""


def exit_command(directory: str, command: list[str]) -> list[str]:
    """command (the exit command, `pypod container cleanup ...`) behind the
    shell's look at the claim in directory (_EXIT_SCRIPT)."""
    if not os.path.exists("/bin/sh"):
        return command
    return ["/bin/sh", "-c", _EXIT_SCRIPT, "pypod-exit", directory, *command]


def remove_claimed_dir(directory: str) -> None:
    """rm -rf a container's run dir, its exit claim last.

    An exit command that looks while the claimant's cleanup removes the
    directory must find the claim, or no directory (finished_by_claimant).
    Removed first, as any file may be in a walk of the tree, the claim would
    leave the directory without it for as long as the rest took, and the
    exit command would do the work a second time.  Last, the claim and the
    directory go in two consecutive calls."""
    from ..storage.tree import remove_tree_at, remove_what_can_go

    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        dfd = -1
    if dfd >= 0:
        try:
            for name in os.listdir(dfd):
                if name != CLAIM_FILE:
                    try:
                        remove_tree_at(dfd, name)
                    except OSError:
                        pass  # remove_what_can_go, below, goes past what refuses as far as it can
        finally:
            os.close(dfd)
    remove_what_can_go(directory)
