"""Which image a build step's image sits on (engine/images.parents): by
layers, and by history where a step changed only metadata."""

from __future__ import annotations

from types import SimpleNamespace

from pypod.engine.images import parents


def img(iid, layers, history):
    return SimpleNamespace(id=iid, layers=layers, history=[{"created_by": h} for h in history])


def test_metadata_steps_chain_through_their_history():
    base = img("base", ["l1"], ["ADD"])
    env = img("env", ["l1"], ["ADD", "ENV A=1"])
    label = img("label", ["l1"], ["ADD", "ENV A=1", "LABEL x=y"])
    run = img("run", ["l1", "l2"], ["ADD", "ENV A=1", "LABEL x=y", "RUN echo"])
    cmd = img("cmd", ["l1", "l2"], ["ADD", "ENV A=1", "LABEL x=y", "RUN echo", "CMD sh"])
    got = parents([cmd, run, label, env, base])
    assert got == {"base": "", "env": "base", "label": "env", "run": "label", "cmd": "run"}


def test_same_layers_other_history_is_no_parent():
    a = img("a", ["l1"], ["ADD", "ENV A=1"])
    b = img("b", ["l1"], ["ADD", "ENV B=2"])
    assert parents([a, b]) == {"a": "", "b": ""}


def test_images_without_history_go_by_layers():
    low = img("low", ["l1"], [])
    top = img("top", ["l1", "l2"], [])
    assert parents([top, low]) == {"low": "", "top": "low"}
