"""What several tabs of one job compute from the same book — its classes, its scores, its
ROI table —, computed once per book object and handed out as copies.

A refresh classified the sources five times (the Tiers tab, the Scores tab twice over, the
Board and the summary the command line prints), scored them twice and computed the ROI table
twice (the ROI tab and the Board's 12-month ROI). As the forecast (:mod:`.forecasting`),
each is kept for the last book it was computed for (the same object: a job's tabs are
rendered from one book) and computed again for any other.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TypeVar

import pandas as pd

from leadbook.planning.roi import roi_table
from leadbook.portfolio.classify import classify
from leadbook.portfolio.scoring import score_sources
from leadbook.workbook.read import Book

T = TypeVar("T")

_LAST: dict[str, tuple[weakref.ref, object]] = {}
"""Each kind of result → (the book it was computed for, the result)."""

_LOCK = threading.Lock()


def _once(kind: str, book: Book, compute: Callable[[], T]) -> T:
    """``compute()``, or what it gave for ``book`` (the same object) last time."""
    with _LOCK:
        last = _LAST.get(kind)
    if last is not None and last[0]() is book:
        return last[1]  # type: ignore[return-value]
    value = compute()
    with _LOCK:
        _LAST[kind] = (weakref.ref(book), value)
    return value


def book_classes(book: Book) -> pd.DataFrame:
    """:func:`~leadbook.portfolio.classify.classify` of the book's sources under its settings.

    Parameters
    ----------
    book : Book
        The book a job renders from.

    Returns
    -------
    pandas.DataFrame
        A copy: the caller may change it.
    """
    return _once("classes", book, lambda: classify(book.inventory, book.settings)).copy()


def book_scores(book: Book) -> pd.DataFrame:
    """:func:`~leadbook.portfolio.scoring.score_sources` of the book under its settings,
    from :func:`book_classes`.

    Parameters
    ----------
    book : Book
        The book a job renders from.

    Returns
    -------
    pandas.DataFrame
        A copy: the caller may change it.
    """
    scores = _once(
        "scores",
        book,
        lambda: score_sources(book.inventory, book.settings, classes=book_classes(book)),
    )
    return scores.copy()


def book_roi(book: Book) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`~leadbook.planning.roi.roi_table` of the book under its settings: the ROI
    figures and the cohort cash flows.

    Parameters
    ----------
    book : Book
        The book a job renders from.

    Returns
    -------
    tuple of pandas.DataFrame
        Copies: the caller may change them. A :class:`~leadbook.errors.LeadbookError` the
        computation raises is raised again at each call (nothing is kept).
    """
    table, flows = _once("roi", book, lambda: roi_table(book.inventory, book.settings))
    return table.copy(), flows.copy()
