"""Pairs an image with the depth image of the same stamp (message_filters is not available).

Drivers publish colour and aligned depth with identical stamps on separate topics, in either
order; whichever arrives first waits here, a bounded number of stamps, for its partner.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

FirstT = TypeVar("FirstT")
SecondT = TypeVar("SecondT")


class ExactTimePairing(Generic[FirstT, SecondT]):
    """Matches two streams by integer stamp; not thread-safe (callers hold their lock).

    Attributes:
        dropped: items discarded unpaired because newer stamps pushed them out.
    """

    def __init__(self, max_waiting: int = 8) -> None:
        self._max_waiting = max_waiting
        self._firsts: OrderedDict[int, FirstT] = OrderedDict()
        self._seconds: OrderedDict[int, SecondT] = OrderedDict()
        self.dropped = 0

    def add_first(self, stamp_ns: int, item: FirstT) -> tuple[FirstT, SecondT] | None:
        """Offer an item of the first stream; the pair when its partner already waits."""
        if stamp_ns in self._seconds:
            return item, self._seconds.pop(stamp_ns)
        self._wait(self._firsts, stamp_ns, item)
        return None

    def add_second(self, stamp_ns: int, item: SecondT) -> tuple[FirstT, SecondT] | None:
        """Offer an item of the second stream; the pair when its partner already waits."""
        if stamp_ns in self._firsts:
            return self._firsts.pop(stamp_ns), item
        self._wait(self._seconds, stamp_ns, item)
        return None

    def _wait(self, waiting: OrderedDict, stamp_ns: int, item) -> None:
        waiting[stamp_ns] = item
        while len(waiting) > self._max_waiting:
            waiting.popitem(last=False)
            self.dropped += 1
