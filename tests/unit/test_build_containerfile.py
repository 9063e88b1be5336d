"""The pure parts of build: the Containerfile model, word expansion, ignore rules."""

from __future__ import annotations

import os

import pytest

from pypod.build.containerfile import ContainerfileError, expand, expand_words, key_values, parse
from pypod.build.ignore import parse_ignore


def test_stages_flags_forms_and_lines():
    cf = parse(
        "ARG BASE=busybox\n"
        "FROM --platform=linux/amd64 $BASE AS build\n"
        "RUN echo one \\\n"
        "    two\n"
        'RUN ["echo", "a b"]\n'
        "COPY --chown=1:2 --chmod=640 a* /dst/\n"
        "FROM scratch\n"
        "COPY --from=build /x /x\n",
        "Cf",
    )
    assert [a.args for a in cf.global_args] == ["BASE=busybox"]
    one, two = cf.stages
    assert (one.name, one.base, one.platform, one.line) == ("build", "$BASE", "linux/amd64", 2)
    run, json_run, copy = one.instructions
    assert run.args == "echo one     two" and run.line == 3 and run.exec_form is None
    assert json_run.exec_form == ["echo", "a b"]
    assert copy.flag("chown") == "1:2" and copy.flag("chmod") == "640" and copy.args == "a* /dst/"
    assert copy.text == "COPY --chown=1:2 --chmod=640 a* /dst/"
    assert cf.stage("BUILD") is one and cf.stage("1") is two
    assert two.instructions[0].flag("from") == "build"


def test_escape_directive_and_heredocs():
    cf = parse("# escape=`\nFROM busybox\nRUN echo a `\n  b\nRUN <<EOF\necho one\n  echo two\nEOF\n"
               "COPY <<-'A' <<B /dst/\n\tliteral $X\n\tA\nexpanded $X\nB\nENV K=v\n")
    assert cf.escape == "`"
    run1, run2, copy, env = cf.stages[0].instructions
    assert run1.args == "echo a   b"
    assert [(d.name, d.body, d.literal) for d in run2.heredocs] == [("EOF", "echo one\n  echo two\n", False)]
    assert [(d.name, d.body, d.literal) for d in copy.heredocs] == [("A", "literal $X\n", True), ("B", "expanded $X\n", False)]
    assert env.keyword == "ENV" and env.line == 14


@pytest.mark.parametrize("text, why", [
    ("FROM busybox\nFROOM x\n", "Cf:2: unknown instruction: FROOM"),
    ("RUN true\nFROM busybox\n", "Cf:1: RUN before the first FROM"),
    ("# nothing\n", "no FROM instruction"),
    ("FROM busybox\nRUN <<EOF\necho\n", "Cf:2: heredoc <<EOF is not terminated"),
    ("FROM a AS x\nFROM b AS X\n", "Cf:2: duplicate stage name"),
    ("FROM busybox\nCOPY --form=x a b\n", "Cf:2: COPY does not take the flag --form"),
    ("FROM busybox\nONBUILD FROM x\n", "Cf:2: FROM isn't allowed as an ONBUILD trigger"),
])
def test_errors_name_file_and_line(text, why):
    with pytest.raises(ContainerfileError) as e:
        parse(text, "Cf")
    assert why in str(e.value)


def test_expansion_and_quotes():
    env = {"A": "1", "EMPTY": "", "SP": "x y"}
    assert expand("$A-${A}-${NOPE:-d}-${A:+set}-${EMPTY:-e}-${EMPTY-f}", env) == "1-1-d-set-e-"
    assert expand("'$A' \"$A\" \\$A", env) == "$A 1 $A"
    assert expand_words('a=$SP b="$SP" c=\'q w\'', env) == ["a=x", "y", "b=x y", "c=q w"]


def test_env_and_label_pairs():
    cf = parse('FROM x\nENV A=1 B="2 3" C=a\\ b\nENV OLD value with spaces\nLABEL "k 1"=v k2=$A\nARG N\nARG M=3\n')
    env_new, env_old, label, arg1, arg2 = cf.stages[0].instructions
    assert key_values(env_new, {}) == [("A", "1"), ("B", "2 3"), ("C", "a b")]
    assert key_values(env_old, {}) == [("OLD", "value with spaces")]
    assert key_values(label, {"A": "z"}) == [("k 1", "v"), ("k2", "z")]
    assert key_values(arg1, {}) == [("N", None)] and key_values(arg2, {}) == [("M", "3")]


def test_ignore_rules():
    rules = parse_ignore("# comment\n*.log\n!keep.log\nbuild/\n**/tmp\n/secret\ndocs/*.md\n")
    assert rules.excluded("a.log") and not rules.excluded("keep.log")
    assert rules.excluded("build/x/y") and rules.excluded("a/b/tmp") and rules.excluded("tmp/file")
    assert rules.excluded("secret") and rules.excluded("docs/a.md") and not rules.excluded("docs/sub/a.md")
    assert not rules.excluded("src/main.py") and not rules.excluded("sub/a.logx")


def test_context_paths_never_leave_it(tmp_path):
    from pypod.build.context import BuildContext, ContextError

    ctx = tmp_path / "ctx"
    (ctx / "sub").mkdir(parents=True)
    (ctx / "sub" / "f").write_text("f")
    (ctx / "a.txt").write_text("a")
    (ctx / "b.txt").write_text("b")
    os.symlink("sub/f", ctx / "inside")
    os.symlink("../../etc", ctx / "sub" / "up")
    os.symlink("/etc", ctx / "abs")
    (ctx / ".dockerignore").write_text("b.txt\n")
    c = BuildContext(str(ctx))
    assert c.resolve("inside", "COPY") == str(ctx / "sub" / "f")
    for bad in ("../x", "sub/up/passwd", "abs/passwd", "sub/../../x"):
        with pytest.raises(ContextError):
            c.sources(bad, "COPY")
    assert [rel for rel, _ in c.sources("*.txt", "COPY")] == ["a.txt"]
    with pytest.raises(ContextError, match="excluded"):
        c.sources("b.txt", "COPY")
