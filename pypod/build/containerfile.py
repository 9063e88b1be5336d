"""A Containerfile as a model: stages of instructions, each with its flags,
its JSON (exec) form when it has one, its heredocs and the line it came from;
and the word rules of the format (variable expansion, quotes, escapes).

Logical lines come from dockerfile-parse (the escape directive, line
continuations, comments inside continued lines): it is well kept and made
for exactly this.  It knows nothing of heredocs (`RUN <<EOF`), so they are
read here from the raw lines that follow the instruction, and whatever
dockerfile-parse made of those lines is skipped.  Pure: no files, no engine.
"""

from __future__ import annotations

import json
import re

from ..errors import InvalidArgument
from ..record import field, record

#: what a Containerfile may say (ONBUILD takes any of these but FROM, MAINTAINER and ONBUILD)
INSTRUCTIONS = ("FROM", "RUN", "COPY", "ADD", "ENV", "ARG", "LABEL", "WORKDIR", "USER", "EXPOSE", "VOLUME",
                "ENTRYPOINT", "CMD", "SHELL", "STOPSIGNAL", "HEALTHCHECK", "ONBUILD", "MAINTAINER")
#: the instructions whose arguments the builder expands ($VAR) before use
EXPANDED = ("ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "ARG")
#: flags each instruction takes (anything else is an error naming it)
FLAGS = {
    "FROM": ("platform",),
    "RUN": ("mount", "network", "security"),
    "COPY": ("from", "chown", "chmod", "link", "parents", "exclude"),
    "ADD": ("chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"),
    "HEALTHCHECK": ("interval", "timeout", "start-period", "start-interval", "retries"),
}
#: the ARGs every build has without declaring them (used only once declared, except in FROM)
PREDEFINED_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                   "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")

_HEREDOC_RE = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")


class ContainerfileError(InvalidArgument):
    """Bad input in the file; the message names the file and the line."""


@record
class Heredoc:
    name: str
    body: str
    #: quoted name (<<"EOF"): the body is taken as it is, no expansion
    literal: bool = False


@record
class Instruction:
    keyword: str
    #: the arguments after the flags, as written (continuations joined)
    args: str
    #: "--name=value" flags in order, without the dashes
    flags: list[tuple[str, str]] = field(default_factory=list)
    #: the exec form, when the arguments are a JSON array of strings
    exec_form: list[str] | None = None
    heredocs: list[Heredoc] = field(default_factory=list)
    #: 1-based line of the instruction in its file
    line: int = 0
    #: what podman prints after "STEP n/m: "
    text: str = ""

    def flag(self, name: str, default: str | None = None) -> str | None:
        """The last value given for a flag."""
        vals = [v for k, v in self.flags if k == name]
        return vals[-1] if vals else default

    def flag_all(self, name: str) -> list[str]:
        return [v for k, v in self.flags if k == name]


@record
class Stage:
    index: int
    #: the name after AS ("" when it has none)
    name: str
    #: the image reference after FROM, unexpanded
    base: str
    platform: str
    line: int
    instructions: list[Instruction] = field(default_factory=list)
    #: the FROM line as podman prints it
    text: str = ""


@record
class Containerfile:
    filename: str
    stages: list[Stage]
    #: ARGs before the first FROM (they may be used in FROM lines)
    global_args: list[Instruction] = field(default_factory=list)
    escape: str = "\\"

    def stage(self, ref: str) -> Stage | None:
        """A stage by name (case-insensitive) or index."""
        for s in self.stages:
            if s.name and s.name.lower() == ref.lower():
                return s
        if ref.isdigit() and int(ref) < len(self.stages):
            return self.stages[int(ref)]
        return None


def parse(text: str, filename: str = "Containerfile") -> Containerfile:
    import io

    from dockerfile_parse import DockerfileParser

    def bad(line: int, why: str) -> ContainerfileError:
        return ContainerfileError(f"{filename}:{line}: {why}")

    raw_lines = text.splitlines()
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()), env_replace=False)
    escape = _escape_directive(raw_lines)
    stages: list[Stage] = []
    global_args: list[Instruction] = []
    consumed = -1  # the last raw line (0-based) a heredoc took
    for entry in parser.structure:
        if entry["startline"] <= consumed:
            continue
        keyword = entry["instruction"].upper()
        line = entry["startline"] + 1
        if keyword == "COMMENT":
            continue
        if keyword not in INSTRUCTIONS:
            raise bad(line, f"unknown instruction: {keyword}")
        value = entry["value"].strip()
        ins = _instruction(keyword, value, line, bad)
        if keyword in ("RUN", "COPY", "ADD") and ins.exec_form is None:
            docs, consumed = _heredocs(ins.args, raw_lines, entry["endline"] + 1, line, bad)
            ins.heredocs = docs
        if keyword == "FROM":
            stages.append(_stage(ins, len(stages), bad))
        elif not stages:
            if keyword != "ARG":
                raise bad(line, f"{keyword} before the first FROM: only ARG may come before it")
            global_args.append(ins)
        else:
            if keyword == "ONBUILD":
                _check_onbuild(ins, bad)
            stages[-1].instructions.append(ins)
    if not stages:
        raise ContainerfileError(f"{filename}: no FROM instruction: a Containerfile needs at least one stage")
    names = set()
    for s in stages:
        if s.name:
            if s.name.lower() in names:
                raise bad(s.line, f"duplicate stage name {s.name!r}")
            names.add(s.name.lower())
    return Containerfile(filename, stages, global_args, escape)


def _escape_directive(lines: list[str]) -> str:
    for raw in lines:
        m = re.match(r"^\s*#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$", raw)
        if not m:
            break
        if m.group(1).lower() == "escape" and m.group(2) in ("\\", "`"):
            return m.group(2)
    return "\\"


def _instruction(keyword: str, value: str, line: int, bad) -> Instruction:
    flags: list[tuple[str, str]] = []
    rest = value
    while rest.startswith("--"):
        word, _, after = rest.partition(" ")
        name, eq, val = word[2:].partition("=")
        if keyword not in FLAGS or name not in FLAGS[keyword]:
            raise bad(line, f"{keyword} does not take the flag --{name}")
        if not eq and name not in ("link", "parents", "keep-git-dir"):
            raise bad(line, f"{keyword} --{name} needs a value (--{name}=VALUE)")
        flags.append((name, val if eq else "true"))
        rest = after.lstrip()
    exec_form = None
    if rest.startswith("["):
        try:
            arr = json.loads(rest)
        except ValueError:
            arr = None
        if isinstance(arr, list) and all(isinstance(x, str) for x in arr):
            exec_form = arr
    text = f"{keyword} {value}".rstrip()
    return Instruction(keyword, rest, flags, exec_form, [], line, text)


def _stage(ins: Instruction, index: int, bad) -> Stage:
    words = ins.args.split()
    if len(words) == 3 and words[1].lower() == "as":
        base, name = words[0], words[2]
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9_.-]*$", name):
            raise bad(ins.line, f"invalid name for build stage: {name!r}, name can't start with a number or contain symbols")
    elif len(words) == 1:
        base, name = words[0], ""
    else:
        raise bad(ins.line, "FROM requires either one or three arguments (IMAGE [AS NAME])")
    return Stage(index, name, base, ins.flag("platform", "") or "", ins.line, [], ins.text)


def _check_onbuild(ins: Instruction, bad) -> None:
    inner = ins.args.split(None, 1)[0].upper() if ins.args.split() else ""
    if inner in ("ONBUILD", "FROM", "MAINTAINER"):
        raise bad(ins.line, f"{inner} isn't allowed as an ONBUILD trigger")
    if inner not in INSTRUCTIONS:
        raise bad(ins.line, f"unknown instruction in ONBUILD: {inner or '(none)'}")


def _heredocs(args: str, lines: list[str], start: int, line: int, bad) -> tuple[list[Heredoc], int]:
    """The bodies of the heredocs args opens, read from lines[start:]; and
    the index of the last line they took (start - 1 when none)."""
    docs = []
    i = start
    for m in _HEREDOC_RE.finditer(args):
        strip_tabs, quote, name = m.group(1) == "-", m.group(2), m.group(3)
        body = []
        while True:
            if i >= len(lines):
                raise bad(line, f"heredoc <<{name} is not terminated (no line {name} follows)")
            raw = lines[i]
            i += 1
            check = raw.lstrip("\t") if strip_tabs else raw
            if check == name:
                break
            body.append(raw.lstrip("\t") if strip_tabs else raw)
        docs.append(Heredoc(name, "".join(b + "\n" for b in body), bool(quote)))
    return docs, i - 1


# -- words: expansion and quotes, as the Dockerfile shell-word rules have them ------------------


class _Lexer:
    def __init__(self, text: str, env: dict[str, str], escape: str, what: str):
        self.s = text
        self.i = 0
        self.env = env
        self.esc = escape
        self.what = what

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def take(self) -> str:
        ch = self.peek()
        self.i += 1
        return ch

    def words(self, split: bool) -> list[str]:
        out: list[str] = []
        word: list[str] = []
        started = False
        while self.i < len(self.s):
            ch = self.take()
            if split and ch.isspace():
                if started:
                    out.append("".join(word))
                    word, started = [], False
                continue
            started = True
            if ch == self.esc:
                nxt = self.take()
                word.append(nxt if nxt else ch)
            elif ch == "'":
                end = self.s.find("'", self.i)
                if end < 0:
                    raise InvalidArgument(f"{self.what}: unexpected end of statement while looking for matching single-quote")
                word.append(self.s[self.i:end])
                self.i = end + 1
            elif ch == '"':
                word.append(self._double())
            elif ch == "$":
                val = self._dollar()
                if not split:
                    word.append(val)
                    continue
                for c in val:  # unquoted, an expansion's white space separates words
                    if c.isspace():
                        if word:
                            out.append("".join(word))
                            word = []
                    else:
                        word.append(c)
                started = bool(word)
            else:
                word.append(ch)
        if started:
            out.append("".join(word))
        return out

    def _double(self) -> str:
        part = []
        while True:
            if self.i >= len(self.s):
                raise InvalidArgument(f"{self.what}: unexpected end of statement while looking for matching double-quote")
            ch = self.take()
            if ch == '"':
                return "".join(part)
            if ch == self.esc and self.peek() in ('"', "$", self.esc):
                part.append(self.take())
            elif ch == "$":
                part.append(self._dollar())
            else:
                part.append(ch)

    def _dollar(self) -> str:
        ch = self.peek()
        if ch == "{":
            self.i += 1
            end = self._closing_brace()
            inner = self.s[self.i:end]
            self.i = end + 1
            m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?$", inner, re.S)
            if not m:
                raise InvalidArgument(f"{self.what}: bad substitution ${{{inner}}}")
            name, op, word = m.group(1), m.group(2), m.group(3)
            val = self.env.get(name)
            if not op:
                return val or ""
            sub = _Lexer(word or "", self.env, self.esc, self.what).words(split=False)
            alt = sub[0] if sub else ""
            unset = val is None or (op.startswith(":") and val == "")
            if op.endswith("-"):
                return alt if unset else val
            return "" if unset else alt
        m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", self.s[self.i:])
        if not m:
            return "$"
        self.i += m.end()
        return self.env.get(m.group(0), "")

    def _closing_brace(self) -> int:
        depth = 1
        j = self.i
        while j < len(self.s):
            if self.s[j] == "{":
                depth += 1
            elif self.s[j] == "}":
                depth -= 1
                if depth == 0:
                    return j
            j += 1
        raise InvalidArgument(f"{self.what}: missing '}}' in ${{...}}")


def expand_words(text: str, env: dict[str, str], escape: str = "\\", what: str = "") -> list[str]:
    """Words split on unquoted white space, variables expanded, quotes removed."""
    return _Lexer(text, env, escape, what).words(split=True)


def expand(text: str, env: dict[str, str], escape: str = "\\", what: str = "") -> str:
    """One word: variables expanded and quotes removed, white space kept."""
    out = _Lexer(text, env, escape, what).words(split=False)
    return out[0] if out else ""


def key_values(ins: Instruction, env: dict[str, str], escape: str = "\\") -> list[tuple[str, str]]:
    """ENV and LABEL: KEY=VALUE pairs (quoted as a shell would), or the old
    one-pair form `KEY VALUE WITH SPACES`."""
    what = f"line {ins.line}"
    first = ins.args.split(None, 1)
    if not first:
        raise InvalidArgument(f"{ins.keyword} needs at least one argument")
    words = expand_words(ins.args, env, escape, what)
    if words and "=" not in words[0]:
        if ins.keyword == "ARG":
            return [(first[0], None)]
        if len(first) < 2:
            raise InvalidArgument(f"{ins.keyword} {first[0]} needs a value ({ins.keyword} KEY=VALUE)")
        return [(expand(first[0], env, escape, what), expand(first[1], env, escape, what))]
    out = []
    for word in words:
        key, eq, val = word.partition("=")
        if not key:
            raise InvalidArgument(f"{ins.keyword} names no variable before '=' in {word!r}")
        if not eq:
            if ins.keyword == "ARG":
                out.append((key, None))
                continue
            raise InvalidArgument(f"{ins.keyword}: {word!r} is not KEY=VALUE")
        out.append((key, val))
    return out


def arg_list(ins: Instruction, env: dict[str, str], escape: str = "\\") -> list[str]:
    """The arguments of COPY, ADD, VOLUME, ...: the JSON form's strings (each
    expanded) or the words of the plain form."""
    if ins.exec_form is not None:
        return [expand(a, env, escape) for a in ins.exec_form]
    return expand_words(ins.args, env, escape, f"line {ins.line}")
