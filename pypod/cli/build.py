"""`pypod build` (and `pypod image build`): an image from a Containerfile."""

from __future__ import annotations

import os
import sys


def _bool(value: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    from ..errors import InvalidArgument

    raise InvalidArgument(f'invalid argument "{value}": strconv.ParseBool: parsing "{value}": invalid syntax')


def add_build_args(p) -> None:
    p.add_argument("-t", "--tag", action="append", default=[], help="name to give the resulting image (repeatable)")
    p.add_argument("-f", "--file", action="append", default=[], help="the Containerfile to use (- for stdin)")
    p.add_argument("--build-arg", action="append", default=[], help="ARG=VALUE for the build (repeatable)")
    p.add_argument("--build-arg-file", action="append", default=[], help="a file of ARG=VALUE lines")
    p.add_argument("--target", default="", help="the stage to build (and the stages it needs)")
    p.add_argument("--no-cache", action="store_true", help="do not use cached layers")
    p.add_argument("--pull", nargs="?", const="always", default="missing",
                   help="pull the base images: always, missing (default), never, newer")
    p.add_argument("--pull-always", action="store_true", help="pull the base images every time")
    p.add_argument("--pull-never", action="store_true", help="never pull the base images")
    p.add_argument("--label", action="append", default=[], help="KEY=VALUE label of the image (repeatable)")
    p.add_argument("--annotation", action="append", default=[], help="KEY=VALUE annotation of the image (repeatable)")
    p.add_argument("--format", default="oci", help="image format: oci (default) or docker")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image ID")
    p.add_argument("--iidfile", default="", help="write the image ID to this file")
    p.add_argument("--layers", nargs="?", const="true", default="true", help="cache each step's image (default true)")
    p.add_argument("--squash", action="store_true", help="squash this build's new layers into one")
    p.add_argument("--squash-all", action="store_true", help="squash every layer into one")
    p.add_argument("--network", "--net", default="", help="RUN's network: private (default), none or host")
    p.add_argument("--add-host", action="append", default=[], help="HOST:IP for RUN's /etc/hosts (repeatable)")
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE set in the image (repeatable)")
    p.add_argument("--secret", action="append", default=[], help="id=ID,src=PATH for RUN --mount=type=secret")
    p.add_argument("-v", "--volume", action="append", default=[], help="HOST:CONTAINER[:ro] bind for every RUN")
    p.add_argument("--platform", default="", help="OS/ARCH of the base images to pull")
    p.add_argument("--tls-verify", nargs="?", const="true", default=None, help="verify registries' TLS when pulling")
    p.add_argument("--creds", default="", help="USER:PASSWORD for the registries base images come from")
    p.add_argument("--authfile", default="", help="the auth file to pull base images with")
    p.add_argument("--ignorefile", default="", help="the ignore file (default .containerignore or .dockerignore)")
    p.add_argument("--rm", nargs="?", const="true", default="true", help="remove intermediate containers (always done)")
    p.add_argument("--force-rm", nargs="?", const="true", default="true", help="remove intermediate containers even after a failure (always done)")
    p.add_argument("context", nargs="?", default=None, help="the build context: a directory, a tar archive, or -")


def cmd_build(engine, a) -> int:
    from ..build.executor import BuildOptions, run_build, read_containerfile
    from ..specgen.env import key_values

    opts = BuildOptions(
        tags=list(a.tag), build_args=_build_args(a), target=a.target, no_cache=a.no_cache,
        layers=_bool(a.layers), squash=a.squash, squash_all=a.squash_all,
        labels=key_values(a.label, "--label"), annotations=key_values(a.annotation, "--annotation"), format=a.format,
        quiet=a.quiet, pull="always" if a.pull_always else "never" if a.pull_never else a.pull, network=a.network,
        env=list(a.env), secrets=_secrets(a.secret), volumes=list(a.volume), add_hosts=list(a.add_host),
        platform=a.platform, registry=_registry(a),
    )
    context = a.context
    stream = None
    if context == "-":
        opts.containerfile, opts.filename = sys.stdin.read(), "-"
        context = None
    elif context is None:
        context = "."
    if context is not None and not os.path.exists(context):
        from ..errors import InvalidArgument

        raise InvalidArgument(f"context must be a directory or a tar archive: stat {context}: no such file or directory")
    if a.file:
        if len(a.file) > 1:
            from ..errors import InvalidArgument

            raise InvalidArgument("more than one -f: pypod builds from one Containerfile")
        opts.containerfile, opts.filename = read_containerfile(a.file[0], None)

    def report(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    sys.stdout.flush()
    img = run_build(engine, opts, context_dir=context, context_stream=stream, ignorefile=a.ignorefile,
                    report=report, run_output=None if a.quiet else sys.stdout.fileno())
    if a.quiet:
        print(img.id)
    if a.iidfile:
        with open(a.iidfile, "w") as f:
            f.write(f"sha256:{img.id}")
    return 0


def _registry(a) -> dict:
    out: dict = {}
    if a.tls_verify is not None:
        out["tls_verify"] = _bool(a.tls_verify)
    if a.creds:
        out["creds"] = a.creds
    if a.authfile:
        out["authfile"] = a.authfile
    return out


def _build_args(a) -> dict[str, str]:
    out: dict[str, str] = {}
    from ..errors import InvalidArgument

    for path in a.build_arg_file:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise InvalidArgument(f"reading build args from {path}: {e.strerror}") from None
        for n, raw in enumerate(data.splitlines(), 1):
            try:
                line = raw.decode().strip()
            except UnicodeDecodeError:
                raise InvalidArgument(f"{path}: invalid utf8 bytes at line {n}") from None
            if line and not line.startswith("#"):
                k, eq, v = line.partition("=")
                out[k] = v if eq else os.environ.get(k, "")
    for item in a.build_arg:
        k, eq, v = item.partition("=")
        if eq:
            out[k] = v
        elif k in os.environ:
            out[k] = os.environ[k]
    return out


def _secrets(items: list[str]) -> dict[str, str]:
    from ..errors import InvalidArgument

    out = {}
    for item in items:
        fields = dict(p.partition("=")[::2] for p in item.split(","))
        sid, src = fields.get("id", ""), fields.get("src") or fields.get("source") or ""
        if fields.get("env") and not src:
            import tempfile

            fd, src = tempfile.mkstemp(prefix="pypod-secret-")
            os.write(fd, os.environ.get(fields["env"], "").encode())
            os.close(fd)
        if not sid or not src:
            raise InvalidArgument(f"--secret {item!r}: id=ID,src=PATH")
        if not os.path.isfile(src):
            raise InvalidArgument(f"--secret {item!r}: {src}: no such file")
        out[sid] = os.path.abspath(src)
    return out
