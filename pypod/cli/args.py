"""Command lines parsed without argparse's import on the everyday path.

argparse costs a CLI call ~5 ms before it parses anything (its import pulls
in gettext, locale and re, and each add_argument builds an Action).  The
command modules keep declaring their flags with argparse's API; LeanParser
records those calls and parses the plain cases itself: exact long and short
flags, clustered short flags, `--flag=value`, the store / store_true /
store_false / append actions, `type` and `choices`, and positionals in one
run (REMAINDER ones swallowing the rest).  Anything else (--help, an
unknown or abbreviated flag, `--`, an error, a value that looks like a
flag, a feature it does not know) replays the recorded calls into a real
argparse parser, which then decides.  So the result is always argparse's:
tests/unit/test_cli_args.py holds LeanParser to it, argument list by
argument list, over every command's real flags.
"""

from __future__ import annotations

REMAINDER = "..."  # argparse.REMAINDER's value
SUPPRESS = "==SUPPRESS=="  # argparse.SUPPRESS's
_VALUE_ACTIONS = ("store", "append")
_FLAG_ACTIONS = ("store_true", "store_false")


class Namespace:
    """argparse.Namespace's behaviour: attributes, `in`, equality."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __contains__(self, key: str) -> bool:
        return key in self.__dict__

    def __eq__(self, other) -> bool:
        return vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"Namespace({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


class _Spec:
    __slots__ = ("dest", "action", "nargs", "type", "choices", "default", "required", "flags", "const")

    def __init__(self, flags, dest, action, nargs, type_, choices, default, required, const=None):
        self.const = const
        self.flags = flags
        self.dest = dest
        self.action = action
        self.nargs = nargs
        self.type = type_
        self.choices = choices
        self.default = default
        self.required = required


class LeanParser:
    """argparse.ArgumentParser's add_argument and parse_args, fast on plain
    command lines; make_full() builds the real parser for everything else."""

    def __init__(self, make_full, add_help: bool = True, prog: str = ""):
        #: () -> a real argparse.ArgumentParser (with the caller's error handling)
        self._make_full = make_full
        self._full = None
        #: (group title or None, flags, keywords) as declared, for the replay
        self._calls: list[tuple[str | None, tuple, dict]] = []
        self._groups: dict[str, tuple[tuple, dict]] = {}
        self._settings: dict = {"prog": prog} if prog else {}
        self._options: dict[str, _Spec] = {}
        self._positionals: list[_Spec] = []
        self._plain = True  # False: some declaration only argparse understands
        if add_help:
            self._options["-h"] = self._options["--help"] = _Spec(("-h", "--help"), "help", "help", None, None,
                                                                 None, None, False)

    # -- declaring ----------------------------------------------------------------

    def add_argument(self, *flags: str, **kw):
        return self._declare(None, flags, kw)

    def add_argument_group(self, title: str | None = None, *args, **kw):
        """Groups only order the help text: their flags parse as any other."""
        if self._full is not None:
            return self._full.add_argument_group(title, *args, **kw)
        key = f"{title}\0{len(self._groups)}"
        self._groups[key] = ((title, *args), kw)
        return _Group(self, key)

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        self._settings[name] = value  # usage, epilog, ...: the full parser's
        if self._full is not None:
            setattr(self._full, name, value)

    def _declare(self, group: str | None, flags: tuple, kw: dict):
        if self._full is not None:
            target = self._full if group is None else self._real_group(group)
            return target.add_argument(*flags, **kw)
        self._calls.append((group, flags, kw))
        known = {"action", "nargs", "type", "choices", "default", "help", "metavar", "dest", "required", "const"}
        action = kw.get("action", "store")
        nargs = kw.get("nargs")
        if set(kw) - known or not isinstance(action, str) or not flags:
            self._plain = False
            return None
        if flags[0].startswith("-"):
            # an optional value (nargs="?", const=...) only on long flags
            optional_value = nargs == "?" and action == "store" and all(f.startswith("--") for f in flags)
            if (action not in _VALUE_ACTIONS + _FLAG_ACTIONS + ("help",) or (nargs is not None and not optional_value)
                    or ("const" in kw and not optional_value)):
                self._plain = False
                return None
            if any(not f.startswith("-") or (not f.startswith("--") and len(f) != 2) for f in flags):
                self._plain = False  # "-long" single-dash flags: argparse's matching rules get subtle
                return None
            long = next((f for f in flags if f.startswith("--")), flags[0])
            dest = kw.get("dest") or long.lstrip("-").replace("-", "_")
            default = kw.get("default", False if action == "store_true" else True if action == "store_false" else None)
            spec = _Spec(flags, dest, action, nargs, kw.get("type"), kw.get("choices"), default, kw.get("required", False),
                         kw.get("const"))
            for f in flags:
                self._options[f] = spec
        else:
            if len(flags) != 1 or action != "store" or nargs not in (None, "?", "*", "+", REMAINDER) or "dest" in kw:
                self._plain = False
                return None
            self._positionals.append(_Spec(flags, flags[0], "store", nargs, kw.get("type"), kw.get("choices"),
                                           kw.get("default"), True))
        return None

    @property
    def _option_string_actions(self) -> dict:
        """The flags declared so far (argparse's attribute, which callers read)."""
        return self._full._option_string_actions if self._full is not None else self._options

    def __getattr__(self, name):
        """Anything else (add_subparsers, ...) is argparse's from now on."""
        if name.startswith("_"):
            raise AttributeError(name)
        if self._full is None and name in self._settings:
            return self._settings[name]
        return getattr(self._full_parser(), name)

    def _full_parser(self):
        if self._full is None:
            full = self._make_full()
            for name, value in self._settings.items():
                setattr(full, name, value)
            self._full = full
            self._real_groups: dict = {}
            for group, flags, kw in self._calls:
                (full if group is None else self._real_group(group)).add_argument(*flags, **kw)
            self._plain = False
        return self._full

    def _real_group(self, key: str):
        if key not in self._real_groups:
            args, kw = self._groups[key]
            self._real_groups[key] = self._full.add_argument_group(*args, **kw)
        return self._real_groups[key]

    # -- parsing ---------------------------------------------------------------------

    def parse_args(self, args: list[str]):
        if self._plain and self._full is None:
            ns = self._parse_plain(list(args))
            if ns is not None:
                return ns
        return self._full_parser().parse_args(args)

    def _parse_plain(self, args: list[str]) -> Namespace | None:
        """The namespace argparse would return, or None when unsure."""
        if "--" in args:
            return None  # argparse's handling of it differs by nargs and version
        values: dict = {}
        seen: set[str] = set()
        pos_strings: list[str] = []
        pos_done = False  # a positional run ended (an option came after it)
        remainder = bool(self._positionals) and self._positionals[-1].nargs == REMAINDER
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--" or (arg.startswith("-") and len(arg) > 1 and (" " in arg or _numberish(arg))):
                return None
            if not arg.startswith("-") or arg == "-":
                if pos_done:
                    return None  # positionals around an option: argparse's rules differ by nargs
                if remainder:
                    taken = self._fixed_before_remainder(args[i:])
                    if taken is None or any(self._ambiguous(a) for a in args[i:]):
                        return None
                    pos_strings = args[i:]
                    break
                pos_strings.append(arg)
                i += 1
                continue
            if pos_strings:
                pos_done = True
            if arg.startswith("--"):
                name, eq, value = arg.partition("=")
                spec = self._options.get(name)
                if spec is None or spec.action == "help":
                    return None
                if spec.action in _FLAG_ACTIONS:
                    if eq:
                        return None
                    values[spec.dest] = spec.action == "store_true"
                elif spec.nargs == "?" and not eq:
                    # argparse takes the next word as the value if it can be one
                    if i + 1 < len(args) and not _optionish(args[i + 1]):
                        i += 1
                        if not self._store(spec, args[i], values):
                            return None
                    else:
                        values[spec.dest] = spec.const
                else:
                    if not eq:
                        i += 1
                        if i >= len(args) or _optionish(args[i]):
                            return None
                        value = args[i]
                    if not self._store(spec, value, values):
                        return None
                seen.add(spec.dest)
                i += 1
                continue
            j = 1  # -abc: flags clustered, the last one may take a value
            while j < len(arg):
                spec = self._options.get("-" + arg[j])
                if spec is None or spec.action == "help":
                    return None
                seen.add(spec.dest)
                if spec.action in _FLAG_ACTIONS:
                    values[spec.dest] = spec.action == "store_true"
                    j += 1
                    continue
                value = arg[j + 1:]
                if value.startswith("="):
                    return None
                if not value:
                    i += 1
                    if i >= len(args) or _optionish(args[i]):
                        return None
                    value = args[i]
                if not self._store(spec, value, values):
                    return None
                break
            i += 1
        if not self._assign_positionals(pos_strings, values):
            return None
        ns = Namespace()
        for spec in {id(s): s for s in self._options.values()}.values():
            if spec.action == "help":
                continue
            if spec.dest not in seen:
                if spec.required:
                    return None
                default = spec.default
                if isinstance(default, str) and spec.type is not None:
                    try:
                        default = spec.type(default)  # argparse types string defaults too
                    except Exception:
                        return None
                values.setdefault(spec.dest, default)
            setattr(ns, spec.dest, values[spec.dest])
        for spec in self._positionals:
            setattr(ns, spec.dest, values[spec.dest])
        return ns

    def _store(self, spec: _Spec, text: str, values: dict) -> bool:
        value = text
        if spec.type is not None:
            try:
                value = spec.type(text)
            except Exception:
                return False
        if spec.choices is not None and value not in spec.choices:
            return False
        if spec.action == "append":
            old = values.get(spec.dest, spec.default)
            values[spec.dest] = [*(old or []), value]
        else:
            values[spec.dest] = value
        return True

    def _ambiguous(self, word: str) -> bool:
        """argparse looks at every word, the command's own after the image
        too, and refuses one that abbreviates two long flags (`--no`)."""
        if not word.startswith("--"):
            return False
        name = word.partition("=")[0]
        if name in self._options:
            return False
        return sum(1 for f in self._options if f.startswith("--") and f.startswith(name)) > 1

    def _fixed_before_remainder(self, rest: list[str]) -> int | None:
        """How many of rest the positionals before a REMAINDER take."""
        n = 0
        for spec in self._positionals[:-1]:
            if spec.nargs is None:
                if n >= len(rest) or _optionish(rest[n]):
                    return None
                n += 1
            elif spec.nargs == "?":
                if n < len(rest) and not _optionish(rest[n]):
                    n += 1
            else:
                return None
        return n

    def _assign_positionals(self, strings: list[str], values: dict) -> bool:
        specs = self._positionals
        if specs and specs[-1].nargs == REMAINDER:
            if not strings and any(s.nargs is None for s in specs[:-1]):
                return False
            n = self._fixed_before_remainder(strings) if strings else 0
            if n is None:
                return False
            fixed, rest = strings[:n], strings[n:]
            for spec in specs[:-1]:
                if spec.nargs is None:
                    if not self._store(spec, fixed.pop(0), values):
                        return False
                elif fixed:  # "?"
                    if not self._store(spec, fixed.pop(0), values):
                        return False
                else:
                    values[spec.dest] = spec.default
            values[specs[-1].dest] = rest
            return True
        singles = [s for s in specs if s.nargs is None]
        variadic = [s for s in specs if s.nargs is not None]
        if len(variadic) > 1 or (variadic and specs[-1] is not variadic[0]):
            return False
        if len(strings) < len(singles):
            return False
        for spec, text in zip(singles, strings):
            if not self._store(spec, text, values):
                return False
        rest = strings[len(singles):]
        if not variadic:
            return not rest
        spec = variadic[0]
        if spec.nargs == "?":
            if len(rest) > 1:
                return False
            if rest:
                return self._store(spec, rest[0], values)
            values[spec.dest] = spec.default
            return True
        if spec.nargs == "+" and not rest:
            return False
        if not rest:
            values[spec.dest] = spec.default if spec.default is not None else []
            return True
        out = []
        for text in rest:
            one: dict = {}
            if not self._store(spec, text, one):
                return False
            out.append(one[spec.dest])
        values[spec.dest] = out
        return True


class _Group:
    """What add_argument_group returns: its flags go to the parser."""

    def __init__(self, parser: LeanParser, key: str):
        self._parser = parser
        self._key = key

    def add_argument(self, *flags: str, **kw):
        return self._parser._declare(self._key, flags, kw)


def _optionish(arg: str) -> bool:
    return arg.startswith("-") and arg != "-"


def _numberish(arg: str) -> bool:
    """-5, -1.5: argparse reads these as values or options depending on the parser."""
    body = arg[1:]
    return body.replace(".", "", 1).isdigit()
