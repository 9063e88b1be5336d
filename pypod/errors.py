"""The engine's errors, mirroring libpod's define.Err* values.

Each front door maps them once: the CLI to an exit code (cli/main.py), the
REST service to an HTTP status (api/).  Messages use podman's words because
users and scripts match on them.
"""

from __future__ import annotations


class PypodError(Exception):
    """Base of every error the engine raises on purpose."""

    #: podman's exit code for engine errors
    exit_code = 125
    #: the HTTP status the REST service answers with
    http_status = 500


class NoSuchContainer(PypodError):
    http_status = 404


class NoSuchImage(PypodError):
    http_status = 404


class NoSuchExecSession(PypodError):
    http_status = 404


class NoSuchSecret(PypodError):
    http_status = 404


class NoSuchNetwork(PypodError):
    http_status = 404


class NoSuchPod(PypodError):
    http_status = 404


class NetworkInUse(PypodError):
    """podman's ErrNetworkInUse: `network rm` without -f (and exit code 2 there)."""

    http_status = 409


class PodInUse(PypodError):
    http_status = 409


class NoSuchObject(PypodError):
    """Nothing of any kind has that name (inspect --type all)."""

    http_status = 404


class NoSuchVolume(PypodError):
    http_status = 404


class NoSuchPath(PypodError):
    """A path that is not in a container (cp, archive) or on the host."""

    http_status = 404


class NameInUse(PypodError):
    http_status = 409


class ContainerExists(PypodError):
    """libpod's ErrCtrExists: the container is still needed (by dependents)."""

    http_status = 409


class VolumeExists(PypodError):
    http_status = 409


class VolumeInUse(PypodError):
    """podman exits 2 when `volume rm` meets a volume containers use."""

    exit_code = 2
    http_status = 409


class InvalidState(PypodError):
    """The container (or exec session) is in the wrong state for the call."""

    http_status = 409


class ContainerRunning(InvalidState):
    pass


class AlreadyInState(InvalidState):
    """Start of a running container, stop of a stopped one: Docker answers 304."""

    http_status = 304


class InvalidArgument(PypodError):
    http_status = 400


class NoSuchUser(InvalidArgument):
    """A user or group the container's passwd/group files do not name:
    the process cannot be invoked as asked (podman exits 126)."""

    exit_code = 126


class ImageInUse(PypodError):
    http_status = 409


class OCIRuntimeError(PypodError):
    """The OCI runtime (or conmon) failed; carries the runtime's own text."""

    http_status = 500


class CommandNotFound(OCIRuntimeError):
    """The command does not exist in the container (podman exits 127).
    Docker answers it as the caller's bad input: 400."""

    exit_code = 127
    http_status = 400


class CommandPermissionDenied(OCIRuntimeError):
    """The command exists but cannot be invoked (podman exits 126); 400 as Docker."""

    exit_code = 126
    http_status = 400


class CheckpointUnsupported(PypodError):
    #: a well-formed request this host cannot carry out (CRIU broken): the
    #: caller's to change, so a 4xx, as the service answers all such
    http_status = 409


def runtime_error_from_text(text: str) -> OCIRuntimeError:
    """Classify an OCI runtime's message the way libpod's getOCIRuntimeError does."""
    msg = text.strip()
    lower = msg.lower()
    if any(s in lower for s in ("executable file not found", "no such file or directory")):
        return CommandNotFound(f"{msg}: OCI runtime attempted to invoke a command that was not found")
    if "permission denied" in lower or "is a directory" in lower:
        return CommandPermissionDenied(f"{msg}: OCI permission denied")
    return OCIRuntimeError(f"{msg}: OCI runtime error")


class RegistryError(PypodError):
    """A registry refused or failed a request, or could not be reached."""

    http_status = 500


class RegistryUnauthorized(RegistryError):
    http_status = 401


class ManifestUnknown(RegistryError):
    """The registry has no such repository, tag or digest."""

    http_status = 404
