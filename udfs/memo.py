"""What the cell functions computed, kept by the fingerprints of the arguments it came from.

Excel calls ``LB.ALLOCATE`` again at every recalculation that touches its ranges, and
``LB.EXPLAIN`` with the same arguments beside it; the process that answers (a compute process
of ``leadbook serve``, xlwings Lite's, the classic add-in's) stays up between calls. What a
cell function computes depends on its arguments alone — no clock, no file — so the same
arguments give the same answer, and an answer is kept and given again. Parts that depend on
some of the arguments (the inventory on Sources, History and PriceTiers; the classification on
those and Settings) are kept by those arguments' fingerprints, so a new budget re-solves
without reading the tables again.

A fingerprint is a digest of the argument's pickled value, so types count (1, 1.0 and True
differ) and equal values may still miss (never the reverse). Errors are not kept.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def fingerprint(value: Any) -> bytes | None:
    """A digest of ``value`` and its types; None when it does not pickle (then nothing that
    depends on it is kept).

    >>> fingerprint([[1, 2.5, "a"]]) == fingerprint([[1, 2.5, "a"]])
    True
    >>> fingerprint([[1]]) == fingerprint([[1.0]]), fingerprint(lambda: 0)
    (False, None)
    """
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # whatever a front passes that pickle refuses: computed, never kept
        return None
    return hashlib.blake2b(data, digest_size=16).digest()


class Memo(Generic[T]):
    """The last ``size`` values of one computation, by key (a tuple of fingerprints).

    >>> squares = Memo(2)
    >>> squares.get((b"3",), lambda: 9), squares.get((b"3",), lambda: -1), squares.hits
    (9, 9, 1)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._kept: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()  # the server's thread mode calls from many threads

    def get(self, key: tuple[bytes | None, ...], compute: Callable[[], T]) -> T:
        """The value kept under ``key``, else ``compute()``, kept (unless a part of the key
        is None: an argument without a fingerprint)."""
        if None in key:
            return compute()
        with self._lock:
            if key in self._kept:
                self.hits += 1
                self._kept.move_to_end(key)
                return self._kept[key]
            self.misses += 1
        value = compute()
        with self._lock:
            self._kept[key] = value
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self.hits = self.misses = 0
