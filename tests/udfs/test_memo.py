"""udfs.memo: answers kept by the fingerprints of their arguments (counted, never timed)."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from udfs import memo
from udfs.memo import Memo, fingerprint


class TestFingerprint:
    @pytest.mark.parametrize(
        "value",
        [[[1, 2.5, "a", None]], [[0]], ((1.0, dt.datetime(2026, 1, 31)),), None, 320_000],
    )
    def test_equal_values_have_one_fingerprint(self, value):
        assert fingerprint(value) == fingerprint(copy.deepcopy(value))

    @pytest.mark.parametrize(
        ("a", "b"),
        [
            ([[1]], [[1.0]]),  # a number Excel sends as int or as float is told apart
            ([[1]], [[True]]),
            ([[0]], [[None]]),  # desktop Excel's empty cell and the web's
            ([[1, 2]], [[1], [2]]),  # a row is not a column
            ([["a", "b"]], [["ab"]]),
        ],
    )
    def test_values_that_differ_in_value_type_or_shape_differ(self, a, b):
        assert fingerprint(a) != fingerprint(b)

    def test_a_value_that_does_not_pickle_has_none(self):
        assert fingerprint([[lambda: 0]]) is None


class TestMemo:
    def test_computes_once_per_key(self):
        calls = []
        kept = Memo(4)
        for key in (b"a", b"b", b"a", b"a"):
            assert kept.get((key,), lambda k=key: calls.append(k) or k.upper()) == key.upper()
        assert (calls, kept.hits, kept.misses) == ([b"a", b"b"], 2, 2)

    def test_keeps_the_last_size_values(self):
        calls = []
        kept = Memo(2)
        for key in (b"1", b"2", b"3", b"1"):  # 1 was dropped when 3 came
            kept.get((key,), lambda k=key: calls.append(k))
        assert calls == [b"1", b"2", b"3", b"1"]

    def test_a_recent_use_keeps_a_value(self):
        calls = []
        kept = Memo(2)
        for key in (b"1", b"2", b"1", b"3", b"1"):  # 1 used again: 2 is the oldest
            kept.get((key,), lambda k=key: calls.append(k))
        assert calls == [b"1", b"2", b"3"]

    def test_a_key_without_a_fingerprint_is_never_kept(self):
        calls = []
        kept = Memo(4)
        for _ in range(2):
            kept.get((b"a", None), lambda: calls.append(1))
        assert (len(calls), kept.hits, kept.misses) == (2, 0, 0)

    def test_an_error_is_not_kept(self):
        kept = Memo(4)

        def failing():
            raise ValueError("bad budget")

        for _ in range(2):
            with pytest.raises(ValueError, match="bad budget"):
                kept.get((b"a",), failing)
        assert kept.get((b"a",), lambda: 7) == 7


def test_the_docstring_examples_hold():
    import doctest

    failed, attempted = doctest.testmod(memo)
    assert (failed, attempted >= 3) == (0, True)
