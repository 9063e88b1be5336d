"""Registry commands: pull, push, login, logout, search, manifest inspect.

Output as podman's: progress on stderr (live bars when stderr is a
terminal, one line per step otherwise, nothing with -q), the image ID on
stdout.
"""

from __future__ import annotations

import sys

from ..errors import InvalidArgument

# -- shared flags ----------------------------------------------------------------------------


def _bool_flag(v: str) -> bool:
    low = v.lower()
    if low in ("true", "1", "yes", "t"):
        return True
    if low in ("false", "0", "no", "f"):
        return False
    raise InvalidArgument(f'invalid boolean value "{v}"')


def _duration(v: str) -> float:
    """A Go duration ("2s", "500ms", "1m30s") or plain seconds."""
    import re

    if re.fullmatch(r"\d+(\.\d+)?", v):
        return float(v)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", v)
    if not parts or "".join(a + b for a, b in parts) != v:
        raise InvalidArgument(f'invalid duration "{v}"')
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(a) * scale[b] for a, b in parts)


def _add_registry_flags(p, retry: bool = False, creds: bool = True) -> None:
    p.add_argument("--tls-verify", nargs="?", const="true", default=None, metavar="BOOL",
                   help="require HTTPS and verify certificates when contacting registries (default true)")
    p.add_argument("--authfile", default="", help="path of the authentication file")
    p.add_argument("--cert-dir", default="", help="use certificates at the specified path to access the registry")
    if creds:
        p.add_argument("--creds", default="", help="use USERNAME[:PASSWORD] for accessing the registry")
    if retry:
        p.add_argument("--retry", type=int, default=None, help="number of times to retry in case of failure (default 3)")
        p.add_argument("--retry-delay", default="", help="delay between retries (default: 1s, doubling)")


def _registry_args(a):
    from ..registry import auth
    from ..registry.operations import RegistryArgs

    tls = None if a.tls_verify is None else _bool_flag(a.tls_verify)
    creds = auth.parse_creds(a.creds) if getattr(a, "creds", "") else None
    delay = _duration(a.retry_delay) if getattr(a, "retry_delay", "") else None
    return RegistryArgs(tls_verify=tls, creds=creds, authfile=a.authfile, cert_dir=a.cert_dir,
                        retries=getattr(a, "retry", None), retry_delay=delay)


# -- progress -------------------------------------------------------------------------------


def _progress(quiet: bool):
    from ..registry.progress import ProgressDisplay

    return None if quiet else ProgressDisplay()


def _prompt(choices: list[str]) -> int:
    print("? Please select an image:", file=sys.stderr)
    for i, c in enumerate(choices, 1):
        print(f"  {i}) {c}", file=sys.stderr)
    while True:
        sys.stderr.write(f"Choose 1-{len(choices)}: ")
        sys.stderr.flush()
        line = sys.stdin.readline()
        if not line:
            raise InvalidArgument("short-name resolution: no choice made")
        if line.strip().isdigit() and 1 <= int(line) <= len(choices):
            return int(line) - 1


# -- pull -----------------------------------------------------------------------------------------


def add_pull_args(p) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="suppress output information when pulling images")
    p.add_argument("-a", "--all-tags", action="store_true", help="all tagged images in the repository will be pulled")
    p.add_argument("--platform", default="", help="specify the platform for selecting the image (OS/ARCH[/VARIANT])")
    p.add_argument("--arch", default="", help="use ARCH instead of the architecture of the machine")
    p.add_argument("--os", default="", help="use OS instead of the running OS")
    p.add_argument("--variant", default="", help="use VARIANT instead of the running architecture variant")
    p.add_argument("--disable-content-trust", action="store_true", help="this is a Docker-specific option and is a NOOP")
    _add_registry_flags(p, retry=True)
    p.add_argument("images", nargs="+", metavar="IMAGE")


def platform_from_flags(a) -> tuple[str, str, str] | None:
    from ..registry.manifest import host_platform, parse_platform

    if a.platform:
        if a.arch or a.os or a.variant:
            raise InvalidArgument("--platform option can not be specified with --arch or --os")
        return parse_platform(a.platform)
    if a.arch or a.os or a.variant:
        os_name, arch, variant = host_platform()
        return a.os or os_name, a.arch or arch, a.variant or ("" if a.arch else variant)
    return None


def cmd_pull(engine, a) -> int:
    from ..registry import operations as ops

    args = _registry_args(a)
    platform = platform_from_flags(a)
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    for ref in a.images:
        images = ops.pull(engine, ref, _progress(a.quiet), args=args, platform=platform, all_tags=a.all_tags,
                          can_prompt=tty, prompt=_prompt)
        for img in images:
            print(img.id)
    return 0


# -- run and create: --pull ------------------------------------------------------------------------


def add_run_pull_flags(p) -> None:
    p.add_argument("--pull", default="missing", choices=("missing", "never", "always", "newer"),
                   help="pull image policy (default missing)")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress output information when pulling images")
    p.add_argument("--platform", default="", help="specify the platform for selecting the image (OS/ARCH[/VARIANT])")
    p.add_argument("--arch", default="", help="use ARCH instead of the architecture of the machine for choosing images")
    p.add_argument("--os", default="", help="use OS instead of the running OS for choosing images")
    p.add_argument("--variant", default="", help="use VARIANT instead of the running architecture variant")
    p.add_argument("--tls-verify", nargs="?", const="true", default=None, metavar="BOOL",
                   help="require HTTPS and verify certificates when contacting registries")
    p.add_argument("--authfile", default="", help="path of the authentication file")
    p.add_argument("--disable-content-trust", action="store_true", help="this is a Docker-specific option and is a NOOP")


def image_for_run(engine, a) -> None:
    """Make sure the image of `run`/`create` is here, as --pull says.  A
    local image with the default policy costs one lookup, no registry code."""
    from ..errors import NoSuchImage

    if a.pull == "missing" and not (a.platform or a.arch or a.os or a.variant):
        try:
            engine.images.lookup(a.image)
            return
        except NoSuchImage:
            pass
    from ..registry import operations as ops

    a.cert_dir = ""
    ops.ensure_image(engine, a.image, a.pull, _progress(a.quiet), args=_registry_args(a),
                     platform=platform_from_flags(a))


# -- push ------------------------------------------------------------------------------------------


def add_push_args(p) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="suppress output information when pushing images")
    p.add_argument("-f", "--format", default="", help="manifest type (oci, v2s2) to use in the destination")
    p.add_argument("--compression-format", default="", help="compression format to use (gzip, zstd)")
    p.add_argument("--compress", action="store_true", help="compress tarball image layers when pushing (no-op: always)")
    p.add_argument("--remove-signatures", action="store_true", help="discard any pre-existing signatures in the image")
    p.add_argument("--digestfile", default="", help="write the digest of the pushed image to the specified file")
    p.add_argument("--disable-content-trust", action="store_true", help="this is a Docker-specific option and is a NOOP")
    p.add_argument("--sign-by", default="", help="sign the image (not supported: an error)")
    p.add_argument("--sign-by-sigstore-private-key", default="", metavar="PATH",
                   help="sign the image with a sigstore private key (not supported: an error)")
    p.add_argument("--sign-passphrase-file", default="", metavar="PATH",
                   help="read a passphrase for signing an image from PATH (not supported: an error)")
    _add_registry_flags(p, retry=True)
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("destination", nargs="?", default="", metavar="DESTINATION")


def cmd_push(engine, a) -> int:
    from ..registry import operations as ops

    if a.sign_by or a.sign_by_sigstore_private_key:
        raise InvalidArgument("signing images is not supported by pypod")
    if a.sign_passphrase_file:
        raise InvalidArgument("--sign-passphrase-file is only relevant with --sign-by-sigstore-private-key")
    fmt = {"docker": "v2s2"}.get(a.format, a.format)
    digest = ops.push(engine, a.image, a.destination, _progress(a.quiet), args=_registry_args(a), fmt=fmt,
                      compression=a.compression_format, remove_signatures=a.remove_signatures)
    if a.digestfile:
        with open(a.digestfile, "w") as f:
            f.write(digest)
    return 0


# -- login, logout --------------------------------------------------------------------------------


def add_login_args(p) -> None:
    p.add_argument("-u", "--username", default="", help="username")
    p.add_argument("-p", "--password", default=None, help="password")
    p.add_argument("--password-stdin", action="store_true", help="take the password from stdin")
    p.add_argument("--get-login", action="store_true", help="return the current login user for the registry")
    p.add_argument("-v", "--verbose", action="store_true", help="write more detailed information to stdout")
    _add_registry_flags(p, creds=False)
    p.add_argument("registry", nargs="?", default="", metavar="REGISTRY")


def _default_registry(engine) -> str:
    from ..registry.operations import registries_conf

    conf = registries_conf(engine)
    if not conf.search:
        raise InvalidArgument("please provide a registry to login to")
    return conf.search[0]


def cmd_login(engine, a) -> int:
    from ..registry import operations as ops

    server = a.registry or _default_registry(engine)
    authfile = a.authfile or engine.config.registries.auth_file
    if a.get_login:
        print(ops.get_login(engine, server, authfile))
        return 0
    if a.password is not None and a.password_stdin:
        raise InvalidArgument("--password and --password-stdin are mutually exclusive")
    username = a.username
    password = a.password
    if a.password_stdin:
        if not username:
            raise InvalidArgument("must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    if not username:
        if not sys.stdin.isatty():
            raise InvalidArgument("username is required (--username), and stdin is not a terminal to ask on")
        username = input("Username: ").strip()
    if password is None:
        import getpass

        if not sys.stdin.isatty():
            raise InvalidArgument("password is required (--password-stdin or --password)")
        password = getpass.getpass("Password: ")
    where = ops.login(engine, server, username, password, _registry_args(a))
    if a.verbose:
        print(f"Used: {where}")
    print("Login Succeeded!")
    return 0


def add_logout_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="remove the cached credentials for all registries in the auth file")
    p.add_argument("--authfile", default="", help="path of the authentication file")
    p.add_argument("registry", nargs="?", default="", metavar="REGISTRY")


def cmd_logout(engine, a) -> int:
    from ..registry import operations as ops

    if not a.all and not a.registry:
        a.registry = _default_registry(engine)
    print(ops.logout(engine, a.registry, all_registries=a.all, authfile=a.authfile))
    return 0


# -- search ----------------------------------------------------------------------------------------


def add_search_args(p) -> None:
    p.add_argument("--limit", type=int, default=0, help="limit the number of results")
    p.add_argument("--list-tags", action="store_true", help="list the tags of the input registry")
    p.add_argument("--no-trunc", action="store_true", help="do not truncate the output")
    p.add_argument("--format", default="", help="change the output format to JSON or a Go template")
    p.add_argument("-f", "--filter", action="append", default=[], help="filter output based on conditions provided")
    p.add_argument("--compatible", action="store_true", help="Docker-compatible columns (STARS, OFFICIAL, AUTOMATED)")
    _add_registry_flags(p)
    p.add_argument("term", metavar="TERM")


def _search_filter(rows: list[dict], filters: list[str]) -> list[dict]:
    for f in filters:
        k, sep, v = f.partition("=")
        if not sep:
            raise InvalidArgument(f"invalid filter syntax {f!r}")
        if k == "stars":
            if not v.isdigit():
                raise InvalidArgument(f"incorrect value type for stars filter: {v!r}")
            rows = [r for r in rows if r["Stars"] >= int(v)]
        elif k in ("is-official", "is-automated"):
            want = _bool_flag(v)
            key = "Official" if k == "is-official" else "Automated"
            rows = [r for r in rows if bool(r[key]) == want]
        else:
            raise InvalidArgument(f"invalid filter type {k!r}")
    return rows


def cmd_search(engine, a) -> int:
    from ..registry import operations as ops

    if a.limit < 0:
        raise InvalidArgument("limit must be a positive number")
    rows = ops.search(engine, a.term, limit=a.limit, list_tags=a.list_tags, args=_registry_args(a))
    if not a.list_tags:
        rows = _search_filter(rows, a.filter)
    if a.format in ("json", "{{json .}}"):
        import json

        print(json.dumps(rows, indent=4))
        return 0
    if not a.no_trunc:
        for r in rows:
            if len(r.get("Description", "")) > 44:
                r["Description"] = r["Description"][:41] + "..."
    if a.format:
        from .output import print_template

        print_template(a.format, rows)
        return 0
    from .output import print_table

    if a.list_tags:
        cols = [("NAME", "Name"), ("TAG", "Tag")]
    elif a.compatible:
        cols = [("NAME", "Name"), ("DESCRIPTION", "Description"), ("STARS", "Stars"), ("OFFICIAL", "Official"),
                ("AUTOMATED", "Automated")]
    else:
        cols = [("NAME", "Name"), ("DESCRIPTION", "Description")]
    print_table(cols, rows)
    return 0


# -- manifest inspect ------------------------------------------------------------------------------


def add_manifest_args(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="COMMAND")
    sub.required = True
    ins = sub.add_parser("inspect", help="display the contents of a manifest list or image manifest")
    ins.add_argument("--verbose", "-v", action="store_true", help="no-op: the manifest is shown as the registry holds it")
    ins.add_argument("--tls-verify", nargs="?", const="true", default=None, metavar="BOOL")
    ins.add_argument("--authfile", default="")
    ins.add_argument("--cert-dir", default="")
    ins.add_argument("--creds", default="")
    ins.add_argument("reference", metavar="IMAGE")


def cmd_manifest(engine, a) -> int:
    from ..registry import operations as ops

    data = ops.inspect_manifest(engine, a.reference, _registry_args(a))
    import json

    try:
        print(json.dumps(json.loads(data), indent=4))
    except ValueError:
        sys.stdout.write(data.decode(errors="replace"))
    return 0
