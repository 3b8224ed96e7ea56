"""What the arXiv client decided about time, read in the tests instead of the clock."""

import threading
from dataclasses import dataclass, field
from itertools import pairwise

import pytest

from papers import fetching


@dataclass
class SlotLog:
    """Every request slot the arXiv client reserved in this process, and every pause it took."""

    taken: list[fetching.Slot] = field(default_factory=list)
    slept: list[float] = field(default_factory=list)

    def gaps(self) -> list[float]:
        times = sorted(slot.at for slot in self.taken)
        return [later - earlier for earlier, later in pairwise(times)]

    def waits(self) -> list[float]:
        return sorted(slot.wait for slot in self.taken if slot.wait > 0)


def spaced(gaps: list[float], spacing: float) -> bool:
    # Slots are sums of the spacing (whole milliseconds on Redis): only float rounding is allowed.
    return all(gap >= spacing - 1e-6 for gap in gaps)


@pytest.fixture
def slots(monkeypatch) -> SlotLog:
    log, lock = SlotLog(), threading.Lock()
    reserve, pause = fetching.reserve_slot, fetching.sleep

    def reserving(spacing: float) -> fetching.Slot:
        slot = reserve(spacing)
        with lock:
            log.taken.append(slot)
        return slot

    def sleeping(seconds: float) -> None:
        with lock:
            log.slept.append(seconds)
        pause(seconds)

    monkeypatch.setattr(fetching, "reserve_slot", reserving)
    monkeypatch.setattr(fetching, "sleep", sleeping)
    return log
