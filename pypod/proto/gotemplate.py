"""The subset of Go's text/template that podman's ``--format`` uses.

Templates render dicts (keys are Go field names, looked up like struct
fields: a missing one is an error) and lists.  A ``GoMap`` is looked up
like a Go map instead: a missing key prints ``<no value>``.  Output rules
follow podman: ``format_items`` normalises the user's text (``\\t`` and
``\\n`` escapes, the ``table`` prefix, a final newline) and lays tables out
with the same elastic tabs podman's tabwriter uses.

Parsing is separate from execution so a command parses its format once and
executes it for every row.
"""

from pypod.errors import InvalidArgument
from pypod.proto.tabwriter import tabwrite  # noqa: F401  (part of this module's interface)


class GoMap(dict):
    """A dict that behaves like a Go map (Labels, Annotations) rather than a struct."""

    __slots__ = ()


class TemplateError(InvalidArgument):
    pass


_KEYWORDS = frozenset(("if", "range", "with", "else", "end", "define", "template", "block", "break", "continue"))
_SPACE = " \t\r\n"


# ---- lexing and parsing ------------------------------------------------------

class _Parser:
    def __init__(self, text: str, name: str, funcs):
        self.text = text
        self.name = name
        self.funcs = funcs

    def line_of(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def col_of(self, pos: int) -> int:
        nl = self.text.rfind("\n", 0, pos)
        return pos if nl < 0 else pos - nl - 1

    def error(self, pos: int, msg: str):
        return TemplateError(f"template: {self.name}:{self.line_of(pos)}: {msg}")

    # Splits the text into ("text", s) and ("action", pos, tokens) items.
    def items(self) -> list:
        text = self.text
        n = len(text)
        out = []
        i = 0
        trim_next = False
        while i < n:
            j = text.find("{{", i)
            if j < 0:
                chunk = text[i:]
                if trim_next:
                    chunk = chunk.lstrip(_SPACE)
                if chunk:
                    out.append(("text", chunk))
                break
            chunk = text[i:j]
            if trim_next:
                chunk = chunk.lstrip(_SPACE)
            k = j + 2
            if text.startswith("-", k) and k + 1 < n and text[k + 1] in _SPACE:
                chunk = chunk.rstrip(_SPACE)
                k += 2
            if chunk:
                out.append(("text", chunk))
            while k < n and text[k] in _SPACE:
                k += 1
            if text.startswith("/*", k):
                end = text.find("*/", k + 2)
                if end < 0:
                    raise self.error(j, "unclosed comment")
                k = end + 2
                m = k
                while m < n and text[m] in _SPACE:
                    m += 1
                if text.startswith("-}}", m) and m > k:
                    trim_next = True
                    i = m + 3
                elif text.startswith("}}", k):
                    trim_next = False
                    i = k + 2
                else:
                    raise self.error(j, "comment ends before closing delimiter")
                continue
            tokens, i, trim_next = self.tokenize(k, j)
            out.append(("action", j, tokens))
        return out

    def tokenize(self, i: int, start: int):
        text = self.text
        n = len(text)
        toks = []
        while True:
            if i >= n:
                raise self.error(start, "unclosed action")
            c = text[i]
            if c in _SPACE:
                m = i
                while m < n and text[m] in _SPACE:
                    m += 1
                if text.startswith("-}}", m):
                    return toks, m + 3, True
                i = m
                continue
            if text.startswith("}}", i):
                return toks, i + 2, False
            if c == "|":
                toks.append(("pipe", None, i))
                i += 1
            elif c == "(":
                toks.append(("lparen", None, i))
                i += 1
            elif c == ")":
                chain, j = self.chain(i + 1)
                toks.append(("rparen", chain, i))
                i = j
            elif c == ",":
                toks.append(("comma", None, i))
                i += 1
            elif c == ":" and text.startswith(":=", i):
                toks.append(("declare", None, i))
                i += 2
            elif c == "=":
                toks.append(("assign", None, i))
                i += 1
            elif c == '"':
                s, j = self.string(i)
                toks.append(("str", s, i))
                i = j
            elif c == "`":
                j = text.find("`", i + 1)
                if j < 0:
                    raise self.error(i, "unterminated raw quoted string")
                toks.append(("str", text[i + 1:j], i))
                i = j + 1
            elif c == ".":
                if i + 1 < n and (text[i + 1].isalpha() or text[i + 1] == "_"):
                    chain, j = self.chain(i)
                    toks.append(("field", chain, i))
                    i = j
                else:
                    toks.append(("dot", None, i))
                    i += 1
            elif c == "$":
                j = i + 1
                while j < n and (text[j].isalnum() or text[j] == "_"):
                    j += 1
                name = text[i:j]
                chain, j = self.chain(j)
                toks.append(("var", (name, chain), i))
                i = j
            elif c.isdigit() or (c in "+-" and i + 1 < n and text[i + 1].isdigit()):
                j = i + 1
                while j < n and (text[j].isalnum() or text[j] in "._+-") and not (
                        text[j] in "+-" and text[j - 1] not in "eEpP"):
                    j += 1
                lit = text[i:j]
                try:
                    val = int(lit, 0)
                except ValueError:
                    try:
                        val = float(lit)
                    except ValueError:
                        raise self.error(i, f"bad number syntax: {lit!r}") from None
                toks.append(("num", val, i))
                i = j
            elif c.isalpha() or c == "_":
                j = i + 1
                while j < n and (text[j].isalnum() or text[j] == "_"):
                    j += 1
                word = text[i:j]
                if word in ("true", "false"):
                    toks.append(("bool", word == "true", i))
                elif word == "nil":
                    toks.append(("nil", None, i))
                else:
                    toks.append(("ident", word, i))
                i = j
            else:
                raise self.error(i, f"unexpected {c!r} in command")

    def chain(self, i: int):
        text = self.text
        n = len(text)
        names = []
        while i < n and text[i] == "." and i + 1 < n and (text[i + 1].isalpha() or text[i + 1] == "_"):
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            names.append(text[i + 1:j])
            i = j
        return tuple(names), i

    def string(self, i: int):
        text = self.text
        j = i + 1
        n = len(text)
        while j < n:
            c = text[j]
            if c == "\\":
                j += 2
                continue
            if c == '"':
                break
            if c == "\n":
                raise self.error(i, "unterminated quoted string")
            j += 1
        else:
            raise self.error(i, "unterminated quoted string")
        import json
        raw = text[i:j + 1]
        try:
            return json.loads(raw), j + 1
        except ValueError:
            pass
        # Go escapes JSON lacks (\a \v \x41 \101 \U0001F600).
        try:
            return _go_unquote(raw[1:-1]), j + 1
        except ValueError:
            raise self.error(i, f"invalid syntax in string {raw}") from None

    # ---- tree ----

    def parse(self) -> list:
        self._items = self.items()
        self._k = 0
        nodes, term = self.parse_list()
        if term is not None:
            raise self.error(term[1], f"unexpected {{{{{term[0]}}}}}")
        return nodes

    def parse_list(self):
        """Nodes until {{end}} / {{else}}; returns (nodes, terminator or None)."""
        nodes = []
        items = self._items
        while self._k < len(items):
            item = items[self._k]
            self._k += 1
            if item[0] == "text":
                nodes.append(item)
                continue
            pos, toks = item[1], item[2]
            if not toks:
                raise self.error(pos, "missing value for command")
            head = toks[0]
            if head[0] == "ident" and head[1] in _KEYWORDS:
                kw = head[1]
                if kw == "end":
                    if len(toks) > 1:
                        raise self.error(pos, "unexpected token in end")
                    return nodes, ("end", pos, toks)
                if kw == "else":
                    return nodes, ("else", pos, toks)
                if kw in ("if", "range", "with"):
                    nodes.append(self.control(kw, pos, toks[1:]))
                    continue
                raise self.error(pos, f"{{{{{kw}}}}} is not supported")
            nodes.append(("action", pos, self.pipeline(toks, pos, allow_decl=True)))
        return nodes, None

    def control(self, kw: str, pos: int, toks):
        if not toks:
            raise self.error(pos, f"missing value for {kw}")
        pipe = self.pipeline(toks, pos, allow_decl=True, is_range=kw == "range")
        body, term = self.parse_list()
        if term is None:
            raise self.error(pos, "unexpected EOF")
        else_body = []
        if term[0] == "else":
            etoks = term[2][1:]
            if etoks:
                # "else if" / "else with": the rest of the chain nests inside
                # the else branch and shares this node's {{end}}.
                head = etoks[0]
                if head[0] != "ident" or head[1] not in ("if", "with"):
                    raise self.error(term[1], "unexpected token in else")
                else_body = [self.control(head[1], term[1], etoks[1:])]
                return (kw, pos, pipe, body, else_body)
            else_body, term = self.parse_list()
            if term is None:
                raise self.error(pos, "unexpected EOF")
            if term[0] != "end":
                raise self.error(term[1], "expected end; found {{else}}")
        return (kw, pos, pipe, body, else_body)

    def pipeline(self, toks, pos: int, allow_decl=False, is_range=False):
        decls = []
        assign = False
        k = 0
        if allow_decl and toks and toks[0][0] == "var" and not toks[0][1][1]:
            # $x := ..., $i, $e := ... (range only), $x = ...
            probe = [toks[0][1][0]]
            m = 1
            if is_range and m + 1 < len(toks) and toks[m][0] == "comma" and toks[m + 1][0] == "var":
                probe.append(toks[m + 1][1][0])
                m += 2
            if m < len(toks) and toks[m][0] in ("declare", "assign"):
                decls = probe
                assign = toks[m][0] == "assign"
                k = m + 1
        cmds = []
        cur = []
        depth = 0
        start = k
        for t in toks[k:]:
            kind = t[0]
            if kind == "lparen":
                depth += 1
            elif kind == "rparen":
                depth -= 1
                if depth < 0:
                    raise self.error(t[2], "unexpected right paren")
            if kind == "pipe" and depth == 0:
                if not cur:
                    raise self.error(t[2], "missing command")
                cmds.append(self.command(cur, pos))
                cur = []
            else:
                cur.append(t)
        if depth:
            raise self.error(pos, "unclosed left paren")
        if not cur:
            raise self.error(pos if start >= len(toks) else toks[-1][2], "missing value for command")
        cmds.append(self.command(cur, pos))
        return (decls, assign, cmds)

    def command(self, toks, pos: int):
        args = []
        i = 0
        n = len(toks)
        while i < n:
            t = toks[i]
            kind = t[0]
            if kind == "lparen":
                depth = 1
                j = i + 1
                while j < n:
                    if toks[j][0] == "lparen":
                        depth += 1
                    elif toks[j][0] == "rparen":
                        depth -= 1
                        if depth == 0:
                            break
                    j += 1
                inner = self.pipeline(toks[i + 1:j], t[2])
                args.append(("pipe", inner, toks[j][1], self.src(t[2], toks[j][2] + 1)))
                i = j + 1
                continue
            if kind in ("declare", "assign", "comma", "rparen", "pipe"):
                raise self.error(t[2], f"unexpected {self.text[t[2]:t[2] + 2].strip()!r} in operand")
            if kind == "ident":
                if t[1] in _KEYWORDS:
                    raise self.error(t[2], f"unexpected <{t[1]}> in command")
                if t[1] not in self.funcs:
                    raise self.error(t[2], f'function "{t[1]}" not defined')
            args.append(t)
            i += 1
        end = self._tok_end(toks[-1])
        return (args, toks[0][2], self.src(toks[0][2], end))

    def _tok_end(self, tok):
        text = self.text
        i = tok[2]
        # Walk forward to the end of the token; exact enough for messages.
        if tok[0] == "str":
            if text[i] == "`":
                return text.find("`", i + 1) + 1
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            return j + 1
        j = i + 1
        while j < len(text) and text[j] not in _SPACE and not text.startswith("}}", j) and text[j] not in "|()":
            j += 1
        return j

    def src(self, a: int, b: int) -> str:
        return self.text[a:b]


def _go_unquote(s: str) -> str:
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", '"': '"', "'": "'"}
    out = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= n:
            raise ValueError(s)
        e = s[i + 1]
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e == "x":
            out.append(chr(int(s[i + 2:i + 4], 16)))
            i += 4
        elif e == "u":
            out.append(chr(int(s[i + 2:i + 6], 16)))
            i += 6
        elif e == "U":
            out.append(chr(int(s[i + 2:i + 10], 16)))
            i += 10
        elif e in "01234567":
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            raise ValueError(s)
    return "".join(out)


# ---- values ------------------------------------------------------------------

def _go_float(f: float) -> str:
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    r = repr(f)
    mant, _, exp = r.partition("e")
    neg = mant.startswith("-")
    mant = mant.lstrip("-")
    whole, _, frac = mant.partition(".")
    digits = (whole + frac).lstrip("0")
    # decimal exponent of the first significant digit
    if whole.strip("0"):
        e10 = len(whole.lstrip("0")) - 1
    else:
        e10 = -(len(frac) - len(frac.lstrip("0"))) - 1
    e10 += int(exp or 0)
    digits = digits.rstrip("0") or "0"
    sign = "-" if neg else ""
    if digits == "0":
        return sign + "0"
    # Go's %v is %g at shortest precision: exponent form below 1e-4 and
    # from 1e6 up (fmt.Println(1e6) prints 1e+06).
    if e10 < -4 or e10 >= 6:
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{m}e{'-' if e10 < 0 else '+'}{abs(e10):02d}"
    if e10 >= len(digits) - 1:
        return sign + digits + "0" * (e10 - len(digits) + 1)
    if e10 >= 0:
        return sign + digits[:e10 + 1] + "." + digits[e10 + 1:]
    return sign + "0." + "0" * (-e10 - 1) + digits


def go_str(v, nested: bool = False) -> str:
    """A value as Go's fmt prints it with %v."""
    if v is None:
        return "<nil>" if nested else "<no value>"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _go_float(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: str(kv[0])) if isinstance(v, GoMap) else v.items()
        return "map[" + " ".join(f"{go_str(k, True)}:{go_str(x, True)}" for k, x in items) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(go_str(x, True) for x in v) + "]"
    return str(v)


def _truth(v) -> bool:
    if v is None or v is False:
        return False
    if isinstance(v, (int, float)):
        return v != 0
    if isinstance(v, (str, bytes, list, tuple, dict)):
        return len(v) > 0
    return True


def _type_name(v) -> str:
    if v is None:
        return "interface {}"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "[]interface {}"
    if isinstance(v, GoMap):
        return "map[string]interface {}"
    if isinstance(v, dict):
        return "struct"
    return type(v).__name__


class _ExecError(Exception):
    def __init__(self, msg, pos=None, src=None):
        super().__init__(msg)
        self.msg = msg
        self.pos = pos
        self.src = src


# ---- functions -----------------------------------------------------------------

def _sorted_maps(v):
    # Go encodes maps with sorted keys and structs in field order.
    if isinstance(v, GoMap):
        return {str(k): _sorted_maps(v[k]) for k in sorted(v, key=str)}
    if isinstance(v, dict):
        return {k: _sorted_maps(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_sorted_maps(x) for x in v]
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        # encoding/json writes 3.0 as 3.
        return int(v)
    return v


def _f_json(v):
    import json
    s = json.dumps(_sorted_maps(v), ensure_ascii=False, separators=(",", ":"), default=str)
    # Go's encoder escapes these two even with HTML escaping off.
    return s.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _want_str(v):
    if not isinstance(v, str):
        raise _ExecError(f"wrong type for value; expected string; got {_type_name(v)}")
    return v


def _f_join(items, sep):
    if isinstance(items, str) or not isinstance(items, (list, tuple)):
        raise _ExecError(f"wrong type for value; expected []string; got {_type_name(items)}")
    return _want_str(sep).join(go_str(x, True) for x in items)


def _f_index(item, *keys):
    for k in keys:
        if isinstance(item, dict):
            # Go's index yields the element's zero value for a missing key;
            # podman's maps (Labels, Annotations) hold strings.
            item = item.get(k, "")
        elif isinstance(item, (list, tuple, str, bytes)):
            if isinstance(k, bool) or not isinstance(k, int):
                raise _ExecError(f"error calling index: cannot index slice/array with type {_type_name(k)}")
            if not 0 <= k < len(item):
                raise _ExecError(f"error calling index: index out of range: {k}")
            item = item[k]
        elif item is None:
            raise _ExecError("error calling index: index of untyped nil")
        else:
            raise _ExecError(f"error calling index: can't index item of type {_type_name(item)}")
    return item


def _f_len(v):
    try:
        return len(v)
    except TypeError:
        raise _ExecError(f"error calling len: len of type {_type_name(v)}") from None


def _f_slice(item, *idx):
    if not isinstance(item, (list, tuple, str)):
        raise _ExecError(f"error calling slice: can't slice item of type {_type_name(item)}")
    if len(idx) > 2:
        raise _ExecError("error calling slice: too many slice indexes")
    lo = idx[0] if idx else 0
    hi = idx[1] if len(idx) > 1 else len(item)
    if not 0 <= lo <= hi <= len(item):
        raise _ExecError(f"error calling slice: index out of range: {hi}")
    return item[lo:hi]


def _f_eq(a, *bs):
    if not bs:
        raise _ExecError("missing argument for comparison")
    return any(a == b for b in bs)


def _cmp(name, op):
    def f(a, b):
        if isinstance(a, str) != isinstance(b, str) or not isinstance(a, (int, float, str)):
            raise _ExecError(f"error calling {name}: incompatible types for comparison")
        return op(a, b)
    return f


def _f_and(*args):
    for a in args:
        if not _truth(a):
            return a
    return args[-1]


def _f_or(*args):
    for a in args:
        if _truth(a):
            return a
    return args[-1]


def _f_print(*args):
    out = []
    prev_str = True
    for i, a in enumerate(args):
        is_str = isinstance(a, str)
        # Sprint separates operands with a space when neither is a string.
        if i and not is_str and not prev_str:
            out.append(" ")
        out.append(go_str(a, True))
        prev_str = is_str
    return "".join(out)


def _f_println(*args):
    return " ".join(go_str(a, True) for a in args) + "\n"


def _f_title(s):
    out = []
    prev_letter = False
    for ch in _want_str(s):
        out.append(ch.upper() if not prev_letter else ch)
        prev_letter = ch.isalnum() or ch in "_'"
    return "".join(out)


def _f_truncate(s, n):
    s = _want_str(s)
    return s[:n] if len(s) > n else s


def _f_pad(s, prefix, suffix):
    return " " * prefix + _want_str(s) + " " * suffix


def _f_split(s, sep):
    return _want_str(s).split(sep) if sep else list(s)


def printf(fmt: str, *args) -> str:
    """Go's fmt.Sprintf for the common verbs; mismatches print Go's %!v(...) markers."""
    out = []
    i = 0
    n = len(fmt)
    argi = 0
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        k = j + 1
        flags = ""
        while k < n and fmt[k] in "+-# 0":
            flags += fmt[k]
            k += 1
        width = ""
        while k < n and fmt[k].isdigit():
            width += fmt[k]
            k += 1
        prec = None
        if k < n and fmt[k] == ".":
            k += 1
            p = ""
            while k < n and fmt[k].isdigit():
                p += fmt[k]
                k += 1
            prec = p or "0"
        if k >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[k]
        i = k + 1
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        a = args[argi]
        argi += 1
        spec = "%" + flags.replace("#", "") + width + ("." + prec if prec is not None else "")
        if verb in "vs":
            out.append((spec + "s") % go_str(a, True) if (flags or width or prec) else go_str(a, True))
        elif verb == "q":
            import json
            out.append((spec + "s") % json.dumps(go_str(a, True), ensure_ascii=False))
        elif verb == "t" and isinstance(a, bool):
            out.append((spec + "s") % go_str(a))
        elif verb in "dxXobc" and isinstance(a, int) and not isinstance(a, bool):
            if verb == "b":
                out.append((spec + "s") % format(a, "b"))
            elif verb == "c":
                out.append(chr(a))
            else:
                out.append((spec + ("#" if "#" in flags else "") + verb) % a)
        elif verb in "xX" and isinstance(a, str):
            h = a.encode().hex()
            out.append((spec + "s") % (h.upper() if verb == "X" else h))
        elif verb in "eEfFgG" and isinstance(a, (int, float)) and not isinstance(a, bool):
            out.append((spec + verb) % a)
        else:
            out.append(f"%!{verb}({_type_name(a)}={go_str(a, True)})")
    if argi < len(args):
        extra = ", ".join(f"{_type_name(a)}={go_str(a, True)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _f_printf(fmt, *args):
    return printf(_want_str(fmt), *args)


# name: (callable, minimum args, maximum args or None)
FUNCS = {
    "json": (_f_json, 1, 1),
    "lower": (lambda s: _want_str(s).lower(), 1, 1),
    "upper": (lambda s: _want_str(s).upper(), 1, 1),
    "title": (_f_title, 1, 1),
    "join": (_f_join, 2, 2),
    "split": (_f_split, 2, 2),
    "truncate": (_f_truncate, 2, 2),
    "pad": (_f_pad, 3, 3),
    "index": (_f_index, 1, None),
    "len": (_f_len, 1, 1),
    "slice": (_f_slice, 1, None),
    "printf": (_f_printf, 1, None),
    "print": (_f_print, 0, None),
    "println": (_f_println, 0, None),
    "not": (lambda v: not _truth(v), 1, 1),
    "and": (_f_and, 1, None),
    "or": (_f_or, 1, None),
    "eq": (_f_eq, 1, None),
    "ne": (lambda a, b: a != b, 2, 2),
    "lt": (_cmp("lt", lambda a, b: a < b), 2, 2),
    "le": (_cmp("le", lambda a, b: a <= b), 2, 2),
    "gt": (_cmp("gt", lambda a, b: a > b), 2, 2),
    "ge": (_cmp("ge", lambda a, b: a >= b), 2, 2),
}


# ---- execution ------------------------------------------------------------------

_MISSING = object()


class Template:
    """A parsed template; ``execute(data)`` renders it, raising ``TemplateError``."""

    __slots__ = ("name", "text", "_tree", "_funcs", "_parser")

    def __init__(self, text: str, name: str = "output", funcs=None):
        self.name = name
        self.text = text
        table = FUNCS
        if funcs:
            table = dict(FUNCS)
            for k, f in funcs.items():
                table[k] = f if isinstance(f, tuple) else (f, 0, None)
        self._funcs = table
        self._parser = _Parser(text, name, table)
        self._tree = self._parser.parse()

    def execute(self, data) -> str:
        out = []
        try:
            self._run(self._tree, data, [("$", data)], out)
        except _ExecError as e:
            p = self._parser
            if e.pos is None:
                raise TemplateError(f'template: {self.name}: executing "{self.name}": {e.msg}') from None
            raise TemplateError(
                f'template: {self.name}:{p.line_of(e.pos)}:{p.col_of(e.pos)}: '
                f'executing "{self.name}" at <{e.src}>: {e.msg}') from None
        return "".join(out)

    @property
    def tree(self):
        return self._tree

    def _run(self, nodes, dot, scope, out):
        for node in nodes:
            kind = node[0]
            if kind == "text":
                out.append(node[1])
            elif kind == "action":
                decls, assign, _ = node[2]
                val = self._pipe(node[2], dot, scope)
                if decls:
                    self._bind(decls, assign, val, scope, node[1])
                else:
                    out.append(go_str(val))
            elif kind == "if" or kind == "with":
                mark = len(scope)
                val = self._pipe(node[2], dot, scope)
                if node[2][0]:
                    self._bind(node[2][0], node[2][1], val, scope, node[1])
                if _truth(val):
                    self._run(node[3], val if kind == "with" else dot, scope, out)
                else:
                    self._run(node[4], dot, scope, out)
                del scope[mark:]
            else:
                self._range(node, dot, scope, out)

    def _bind(self, decls, assign, val, scope, pos):
        if assign:
            for i in range(len(scope) - 1, -1, -1):
                if scope[i][0] == decls[0]:
                    scope[i] = (decls[0], val)
                    return
            raise _ExecError(f"undefined variable: {decls[0]}", pos, decls[0])
        scope.append((decls[0], val))

    def _range(self, node, dot, scope, out):
        decls = node[2][0]
        val = self._pipe(node[2], dot, scope)
        if val is None:
            pairs = []
        elif isinstance(val, dict):
            # Go ranges over a map in sorted key order.
            pairs = [(k, val[k]) for k in sorted(val, key=str)]
        elif isinstance(val, (list, tuple)):
            pairs = list(enumerate(val))
        else:
            raise _ExecError(f"range can't iterate over {go_str(val)}", node[1], "range")
        if not pairs:
            mark = len(scope)
            self._run(node[4], dot, scope, out)
            del scope[mark:]
            return
        for k, v in pairs:
            mark = len(scope)
            if len(decls) == 1:
                scope.append((decls[0], v))
            elif len(decls) == 2:
                scope.append((decls[0], k))
                scope.append((decls[1], v))
            self._run(node[3], v, scope, out)
            del scope[mark:]

    def _pipe(self, pipe, dot, scope):
        val = _MISSING
        for cmd in pipe[2]:
            val = self._cmd(cmd, dot, scope, val)
        return val

    def _cmd(self, cmd, dot, scope, prev):
        args, pos, src = cmd
        head = args[0]
        if head[0] == "ident":
            fn, lo, hi = self._funcs[head[1]]
            vals = [self._arg(a, dot, scope, src) for a in args[1:]]
            if prev is not _MISSING:
                vals.append(prev)
            if len(vals) < lo or (hi is not None and len(vals) > hi):
                want = lo if hi == lo else f"at least {lo}" if hi is None else f"{lo}-{hi}"
                raise _ExecError(f"wrong number of args for {head[1]}: want {want} got {len(vals)}", pos, src)
            try:
                return fn(*vals)
            except _ExecError as e:
                e.pos, e.src = pos, src
                raise
            except Exception as e:  # a helper's own failure, reported like Go's
                raise _ExecError(f"error calling {head[1]}: {e}", pos, src) from None
        if len(args) > 1 or prev is not _MISSING:
            if head[0] in ("field", "var", "dot", "pipe"):
                raise _ExecError(f"can't give argument to non-function {src.split()[0]}", pos, src)
            raise _ExecError(f"can't give argument to non-function {head[1]!r}", pos, src)
        return self._arg(head, dot, scope, src)

    def _arg(self, a, dot, scope, src):
        kind = a[0]
        if kind == "field":
            return self._chain(dot, a[1], a[2], "")
        if kind == "dot":
            return dot
        if kind == "var":
            name, chain = a[1]
            for i in range(len(scope) - 1, -1, -1):
                if scope[i][0] == name:
                    return self._chain(scope[i][1], chain, a[2], name)
            raise _ExecError(f"undefined variable: {name}", a[2], name)
        if kind in ("str", "num", "bool"):
            return a[1]
        if kind == "nil":
            raise _ExecError("nil is not a command", a[2], "nil")
        if kind == "pipe":
            val = self._pipe(a[1], dot, scope)
            return self._chain(val, a[2], None, a[3]) if a[2] else val
        if kind == "ident":
            fn, lo, _ = self._funcs[a[1]]
            if lo:
                raise _ExecError(f"wrong number of args for {a[1]}: want {lo} got 0", a[2], a[1])
            return fn()
        raise _ExecError(f"can't handle {kind}", a[2] if len(a) > 2 else None, src)

    def _chain(self, val, names, pos, prefix):
        path = prefix
        for name in names:
            path += "." + name
            if isinstance(val, GoMap):
                val = val.get(name)
                continue
            if isinstance(val, dict):
                if name in val:
                    val = val[name]
                    continue
                raise _ExecError(f"can't evaluate field {name} in type {_type_name(val)}", pos, path)
            if val is None:
                raise _ExecError(f"nil pointer evaluating interface {{}}.{name}", pos, path)
            if not isinstance(val, (str, int, float, list, tuple, bytes)) and hasattr(val, name):
                val = getattr(val, name)
                continue
            raise _ExecError(f"can't evaluate field {name} in type {_type_name(val)}", pos, path)
        return val


def parse(text: str, name: str = "output", funcs=None) -> Template:
    return Template(text, name, funcs)


def render(text: str, data, name: str = "output") -> str:
    """Parse and execute in one go (for one-off use; parse once for many rows)."""
    return Template(text, name).execute(data)


# ---- podman's --format conventions ----------------------------------------------

def _escape_outside_actions(text: str, table: bool) -> str:
    # podman turns the two characters \t and \n into tab and newline, and in
    # a table a space between columns into a tab.  Only text outside
    # {{ }} is touched so string literals inside actions keep their spaces.
    out = []
    i = 0
    n = len(text)
    while i < n:
        j = text.find("{{", i)
        seg = text[i:] if j < 0 else text[i:j]
        seg = seg.replace("\\t", "\t").replace("\\n", "\n")
        if table:
            seg = seg.replace(" ", "\t")
        out.append(seg)
        if j < 0:
            break
        k = _action_end(text, j)
        out.append(text[j:k])
        i = k
    return "".join(out)


def _action_end(text: str, j: int) -> int:
    i = j + 2
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if c == "`":
            k = text.find("`", i + 1)
            i = n if k < 0 else k + 1
            continue
        if text.startswith("}}", i):
            return i + 2
        i += 1
    return n


def normalize_format(fmt: str) -> tuple:
    """``(template_text, is_table)`` for a user's --format, as podman normalises it."""
    table = fmt.startswith("table ") or fmt == "table"
    if table:
        fmt = fmt[6:]
    text = _escape_outside_actions(fmt, table)
    if not text.endswith("\n"):
        text += "\n"
    return text, table


def split_camel(name: str) -> list:
    """"CreatedAt" -> ["Created", "At"], "HTTPPort" -> ["HTTP", "Port"]."""
    runs = []
    prev = None
    for ch in name:
        cls = 1 if ch.islower() else 2 if ch.isupper() else 3 if ch.isdigit() else 4
        if cls == prev:
            runs[-1] += ch
        else:
            runs.append(ch)
        prev = cls
    # An upper run followed by a lower one gives its last letter to it.
    i = 0
    while i < len(runs) - 1:
        if runs[i][0].isupper() and runs[i + 1][0].islower() and len(runs[i]) > 1:
            runs[i + 1] = runs[i][-1] + runs[i + 1]
            runs[i] = runs[i][:-1]
        i += 1
    out = []
    for r in runs:
        if out and r[0].islower() and out[-1][-1:].isupper() and len(out[-1]) == 1:
            out[-1] += r
        else:
            out.append(r)
    return out


def default_header(field: str) -> str:
    return " ".join(split_camel(field)).upper()


def _first_field(pipe):
    for cmd in pipe[2]:
        for a in cmd[0]:
            if a[0] == "field":
                return a[1][0]
            if a[0] == "var" and a[1][1]:
                return a[1][1][0]
            if a[0] == "pipe":
                f = _first_field(a[1])
                if f:
                    return f
    return None


def header_row(template: Template, headers=None) -> str:
    """The header line of a table: each action's first field, named by ``headers`` or uppercased."""
    headers = headers or {}
    out = []
    for node in template.tree:
        if node[0] == "text":
            out.append(node[1])
            continue
        field = _first_field(node[2]) if node[0] == "action" else None
        if field:
            out.append(headers.get(field) or default_header(field))
    return "".join(out)


def format_items(fmt: str, items, headers=None, noheading: bool = False, name: str = "output") -> str:
    """Render a user's --format for each item, podman's way (table or not)."""
    text, table = normalize_format(fmt)
    tmpl = Template(text, name)
    parts = []
    if table and not noheading:
        parts.append(header_row(tmpl, headers))
    for item in items:
        parts.append(tmpl.execute(item))
    body = "".join(parts)
    return tabwrite(body) if table else body
