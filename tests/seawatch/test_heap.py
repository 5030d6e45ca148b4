"""Start-up objects frozen out of the collector's passes; what comes later is still collected."""

import gc
import weakref
from collections.abc import Iterator

import pytest

from seawatch.heap import freeze_startup_objects, thaw


@pytest.fixture
def frozen_then_thawed() -> Iterator[None]:
    yield
    thaw()


def walked(target: object) -> bool:
    return any(o is target for o in gc.get_objects())


def test_objects_alive_at_start_up_are_left_out_of_collections(frozen_then_thawed: None) -> None:
    start_up = {"zones": [[115.0, 22.0]]}
    assert walked(start_up)
    assert freeze_startup_objects() > 0
    assert not walked(start_up)  # no pass walks it any more
    later = {"record": []}
    assert walked(later)
    thaw()
    assert walked(start_up)


def test_cycles_made_after_the_freeze_are_still_collected(frozen_then_thawed: None) -> None:
    freeze_startup_objects()
    gc.collect()
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1


class Node:
    def __init__(self) -> None:
        self.me = self


def test_start_up_garbage_is_collected_not_frozen(frozen_then_thawed: None) -> None:
    gc.disable()  # so that only the freeze's own collection can free it
    try:
        garbage = Node()
        gone = weakref.ref(garbage)
        del garbage
        assert gone() is not None  # a cycle: only a collection frees it
        freeze_startup_objects()
        assert gone() is None
    finally:
        gc.enable()
