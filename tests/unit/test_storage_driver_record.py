"""The root's storage driver is recorded by whoever uses the root first,
and several first users at once (rm -a's worker threads) all succeed."""

from __future__ import annotations

import os
import threading

import pytest

from pypod.engine.engine import storage_driver_of
from pypod.errors import InvalidArgument


def test_first_users_at_once_all_read_one_record(tmp_path):
    storage = str(tmp_path / "storage")
    start = threading.Barrier(16)
    got, errors = [], []

    def first_use():
        start.wait()
        try:
            got.append(storage_driver_of(storage, ""))
        except Exception as e:  # noqa: BLE001 (any failure is the finding)
            errors.append(e)

    for _round in range(20):
        for name in os.listdir(storage) if os.path.isdir(storage) else ():
            os.unlink(os.path.join(storage, name))
        threads = [threading.Thread(target=first_use) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        start.reset()
    assert errors == [] and set(got) == {"overlay"}
    assert os.listdir(storage) == ["driver"]  # no temporary file left


def test_another_driver_asked_for_is_refused(tmp_path):
    storage = str(tmp_path / "storage")
    assert storage_driver_of(storage, "vfs") == "vfs"
    with pytest.raises(InvalidArgument, match="does not match"):
        storage_driver_of(storage, "overlay")
