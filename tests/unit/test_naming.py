from __future__ import annotations

import re

from pypod.engine import naming


def test_name_space_is_large_and_valid():
    assert len(naming._ADJECTIVES) * len(naming._NOUNS) >= 25_000
    assert len(set(naming._ADJECTIVES)) == len(naming._ADJECTIVES)
    assert len(set(naming._NOUNS)) == len(naming._NOUNS)
    for _ in range(200):
        naming.validate_name(naming.random_name())
        assert re.fullmatch(r"[a-z]+_[a-z]+", naming.random_name())


def test_retries_widen_until_free():
    taken = set()
    for attempt in range(40):
        name = naming.random_name(attempt)
        naming.validate_name(name)
        if attempt >= 3:
            assert re.fullmatch(r"[a-z]+_[a-z]+[0-9]+", name)
        taken.add(name)
    # the numbers widen with the attempts: by the 40th they have up to 10 digits
    widths = {len(re.sub(r"[a-z_]", "", naming.random_name(39))) for _ in range(50)}
    assert max(widths) >= 8
