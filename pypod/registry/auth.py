"""Registry credentials where podman (and docker) keep them.

Files, first hit wins (podman's order):
  the auth file named by --authfile, $REGISTRY_AUTH_FILE or pypod's config
      (then it is the only file read);
  ${XDG_RUNTIME_DIR}/containers/auth.json (for root without XDG_RUNTIME_DIR:
      /run/containers/0/auth.json);
  ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json;
  ${DOCKER_CONFIG:-~/.docker}/config.json;  ~/.dockercfg (the legacy format).
Each holds {"auths": {KEY: {"auth": base64(user:password)}}}; KEY is a
registry ("host:port"), or a repository under it ("host/team"), the most
specific winning.  "credHelpers": {registry: NAME} and "credsStore": NAME
hand the secret to the program docker-credential-NAME (get/store/erase,
JSON on stdin and stdout), as docker and podman do.
"""

from __future__ import annotations

import base64
import json
import os

from ..errors import InvalidArgument, PypodError
from ..record import record

AUTH_FILE_ENV = "REGISTRY_AUTH_FILE"


class CredentialHelperError(PypodError):
    pass


@record(frozen=True)
class Credentials:
    username: str
    password: str
    #: an OAuth2 refresh token (docker's "identitytoken"); the username is then "<token>"
    identity_token: str = ""

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def parse_creds(spec: str) -> Credentials:
    """--creds USER[:PASSWORD]."""
    if not spec:
        raise InvalidArgument("credentials can't be empty")
    user, sep, password = spec.partition(":")
    if not user:
        raise InvalidArgument("username can't be empty")
    if not sep:
        import getpass

        password = getpass.getpass("Password: ")
    return Credentials(user, password)


def default_auth_file() -> str:
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/containers/{os.geteuid()}"
    if os.environ.get("XDG_RUNTIME_DIR"):
        return os.path.join(runtime, "containers", "auth.json")
    return os.path.join(runtime, "auth.json")


def _home() -> str:
    return os.environ.get("HOME") or os.path.expanduser("~")


def auth_files(explicit: str = "") -> list[tuple[str, bool]]:
    """(path, legacy format) in the order they are read."""
    path = explicit or os.environ.get(AUTH_FILE_ENV, "")
    if path:
        return [(path, False)]
    home = _home()
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    docker = os.environ.get("DOCKER_CONFIG") or os.path.join(home, ".docker")
    return [(default_auth_file(), False), (os.path.join(config_home, "containers", "auth.json"), False),
            (os.path.join(docker, "config.json"), False), (os.path.join(home, ".dockercfg"), True)]


def _read(path: str, legacy: bool) -> dict:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise InvalidArgument(f"reading JSON file {path!r}: {e.strerror}") from None
    if not data.strip():
        return {}
    try:
        doc = json.loads(data)
    except ValueError as e:
        raise InvalidArgument(f"unmarshaling JSON at {path!r}: {e}") from None
    if not isinstance(doc, dict):
        raise InvalidArgument(f"unmarshaling JSON at {path!r}: not an object")
    return {"auths": doc} if legacy else doc


def _normalize_key(key: str) -> str:
    """Docker writes "https://index.docker.io/v1/"; podman writes "docker.io"."""
    k = key
    for prefix in ("https://", "http://"):
        if k.startswith(prefix):
            k = k[len(prefix):]
            k = k.split("/", 1)[0]
            break
    if k in ("index.docker.io", "registry-1.docker.io"):
        k = "docker.io"
    return k


def _keys_for(registry: str, repository: str) -> list[str]:
    """Most specific first: host/a/b, host/a, host."""
    keys = []
    parts = repository.split("/") if repository else []
    while parts:
        keys.append(f"{registry}/{'/'.join(parts)}")
        parts.pop()
    keys.append(registry)
    return keys


def lookup(registry: str, repository: str = "", authfile: str = "") -> Credentials | None:
    """The credentials for a registry (and repository in it), or None."""
    for path, legacy in auth_files(authfile):
        doc = _read(path, legacy)
        if not doc:
            continue
        helpers = doc.get("credHelpers") or {}
        if isinstance(helpers, dict) and registry in helpers:
            creds = helper_get(str(helpers[registry]), registry)
            if creds:
                return creds
        auths = doc.get("auths") or {}
        if isinstance(auths, dict):
            normalized = {_normalize_key(k): v for k, v in auths.items() if isinstance(v, dict)}
            # exact keys first: "host/team" only ever names that repository prefix
            for key in _keys_for(registry, repository):
                entry = auths.get(key) if isinstance(auths.get(key), dict) else normalized.get(key)
                if entry:
                    creds = _decode(entry, path)
                    if creds:
                        return creds
        store = doc.get("credsStore")
        if isinstance(store, str) and store:
            creds = helper_get(store, registry)
            if creds:
                return creds
    return None


def _decode(entry: dict, path: str) -> Credentials | None:
    token = entry.get("identitytoken") or ""
    raw = entry.get("auth") or ""
    if not raw:
        return Credentials("<token>", "", token) if token else None
    try:
        user, sep, password = base64.b64decode(raw, validate=False).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument(f"invalid auth entry in {path}: not base64 of user:password") from None
    if not sep:
        raise InvalidArgument(f"invalid auth entry in {path}: not base64 of user:password")
    return Credentials(user, password, token)


# -- writing (login, logout) ------------------------------------------------------------


def login_file(authfile: str = "") -> str:
    return authfile or os.environ.get(AUTH_FILE_ENV, "") or default_auth_file()


def _write(path: str, doc: dict) -> None:
    import tempfile

    d = os.path.dirname(path) or "."
    os.makedirs(d, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".auth-")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent="\t")
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def store(key: str, creds: Credentials, authfile: str = "") -> str:
    """Save credentials for a registry (or host/repository key); returns
    where they went (a helper's name or the file)."""
    path = login_file(authfile)
    doc = _read(path, False)
    registry = key.split("/", 1)[0]
    helper = (doc.get("credHelpers") or {}).get(registry) or doc.get("credsStore")
    if helper:
        helper_store(str(helper), registry, creds)
        return f"docker-credential-{helper}"
    auths = doc.setdefault("auths", {})
    auths[key] = {"auth": base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()}
    _write(path, doc)
    return path


def remove(key: str, authfile: str = "") -> bool:
    """Forget a registry's credentials in the file logins write (and its
    helper); False when there were none."""
    path = login_file(authfile)
    doc = _read(path, False)
    registry = key.split("/", 1)[0]
    helper = (doc.get("credHelpers") or {}).get(registry) or doc.get("credsStore")
    found = helper_erase(str(helper), registry) if helper else False
    auths = doc.get("auths") or {}
    gone = [k for k in auths if k == key or _normalize_key(k) == key]
    for k in gone:
        del auths[k]
    if gone:
        _write(path, doc)
    return found or bool(gone)


def remove_all(authfile: str = "") -> None:
    path = login_file(authfile)
    doc = _read(path, False)
    if "auths" in doc:
        doc["auths"] = {}
        _write(path, doc)


def found_elsewhere(registry: str, authfile: str = "") -> str | None:
    """The docker config that holds a login the auth file does not (podman
    tells the user to log out with docker then)."""
    if authfile or os.environ.get(AUTH_FILE_ENV):
        return None
    for path, legacy in auth_files()[1:]:
        auths = _read(path, legacy).get("auths") or {}
        if any(_normalize_key(k) == registry for k in auths):
            return path
    return None


# -- docker-credential helpers -------------------------------------------------------------


def _helper(name: str, action: str, payload: str):
    import subprocess

    prog = f"docker-credential-{name}"
    try:
        return subprocess.run([prog, action], input=payload.encode(), capture_output=True, timeout=60)
    except FileNotFoundError:
        raise CredentialHelperError(f"{prog}: executable file not found in $PATH") from None
    except subprocess.TimeoutExpired:
        raise CredentialHelperError(f"{prog} {action}: no answer in 60 s") from None


def helper_get(name: str, registry: str) -> Credentials | None:
    p = _helper(name, "get", registry)
    out = p.stdout.decode(errors="replace").strip()
    if p.returncode != 0:
        if "credentials not found" in out.lower() or "credentials not found" in p.stderr.decode(errors="replace").lower():
            return None
        raise CredentialHelperError(f"docker-credential-{name} get: {out or p.stderr.decode(errors='replace').strip()}")
    try:
        doc = json.loads(out)
        user, secret = doc["Username"], doc["Secret"]
    except (ValueError, KeyError, TypeError):
        raise CredentialHelperError(f"docker-credential-{name} get: invalid answer") from None
    if user == "<token>":
        return Credentials(user, "", secret)
    return Credentials(user, secret)


def helper_store(name: str, registry: str, creds: Credentials) -> None:
    payload = json.dumps({"ServerURL": registry, "Username": creds.username, "Secret": creds.password})
    p = _helper(name, "store", payload)
    if p.returncode != 0:
        raise CredentialHelperError(f"docker-credential-{name} store: {(p.stdout or p.stderr).decode(errors='replace').strip()}")


def helper_erase(name: str, registry: str) -> bool:
    p = _helper(name, "erase", registry)
    if p.returncode != 0:
        text = (p.stdout + p.stderr).decode(errors="replace").strip()
        if "not found" in text.lower():
            return False
        raise CredentialHelperError(f"docker-credential-{name} erase: {text}")
    return True
