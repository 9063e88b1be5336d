"""Fixtures for rootless pypod: a throwaway unprivileged user per test
session (per xdist worker), with its own subuid/subgid range, home and
runtime dir; every test leaves it with no container, and the session
leaves no user, file or process behind (tests/rootless/user.py)."""

from __future__ import annotations

import pytest

from .user import RootlessUser, missing


@pytest.fixture(scope="session")
def rootless_user():
    reason = missing()
    if reason:
        pytest.skip(reason)
    user = RootlessUser()
    yield user
    user.remove()


@pytest.fixture
def rl(rootless_user):
    """The session's user, its containers gone again after the test."""
    yield rootless_user
    rootless_user.pypod("rm", "-a", "-f", "-t", "0", check=False)
