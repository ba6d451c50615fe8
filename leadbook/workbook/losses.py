"""The audit after a write: what of the user's a saved package would lose.

:func:`foreign_losses` compares the original and the saved package part by part — a digest
of each relationship subtree under every anchor the user owns — and names every part,
worksheet element or extension, rich text run and cell metadata still lost, so that the write
is refused rather than lose it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from xml.etree.ElementTree import canonicalize

import defusedxml.ElementTree as ET  # noqa: N817

from leadbook.workbook.package import (
    _anchor_in,
    _foreign_rels,
    _local,
    _same_part,
    _same_strings,
    cell_metadata,
    foreign_anchors,
    rich_cells,
    subtree_digest,
)
from leadbook.workbook.parts import (
    _MAIN,
    KNOWN_EXTENSIONS,
    WORKBOOK_ORDER,
    WRITTEN_ELEMENTS,
    Package,
)

# --- the audit ---------------------------------------------------------------------------


def foreign_losses(original: Path | Package, saved: Path | Package) -> list[str]:
    """What of the user's would be lost if ``saved`` replaced ``original``: each part under
    an anchor the user owns that is missing or changed, each worksheet element or extension
    dropped from such a tab, each cell whose rich text lost its runs."""
    old, new = Package.of(original), Package.of(saved)
    lost: list[str] = []
    for label, part in foreign_anchors(old).items():
        target = _anchor_in(new, label)
        if target is None or (target and target not in new.parts):
            lost.append(label)
            continue
        lost += _lost_parts(old, new, part, target, label)
        # a part saved as it was (a tab spliced back) lost no element, cell attribute nor
        # — its strings the same — rich text run: 75 MB of History not scanned again
        same = bool(part) and _same_part(old, part, new, target)
        if part and not same:
            lost += _lost_elements(old.bare(part), new.bare(target), label)
        if label.startswith("tab ") and not (same and _same_strings(old, new)):
            lost += _lost_rich_text(old, new, part, target, label)
        if label.startswith("tab ") and not same:
            lost += _lost_cell_metadata(old.parts[part], new.parts[target], label)
    return lost


def _lost_parts(old: Package, new: Package, part: str, target: str, where: str) -> list[str]:
    have = Counter((r.kind, subtree_digest(new, r.target)) for r in _foreign_rels(new, target))
    lost = []
    for r in _foreign_rels(old, part):
        if r.target not in old.parts:
            continue  # a dangling relationship carries nothing to lose
        key = (r.kind, subtree_digest(old, r.target))
        if have[key]:
            have[key] -= 1
        else:
            lost.append(f"the {r.kind} part {r.target} of {where}")
    return lost


def _lost_elements(old: bytes, new: bytes, where: str) -> list[str]:
    """The children (and extensions) of the root of ``old`` that ``new`` lacks (both
    without their cells, :meth:`~leadbook.workbook.parts.Package.bare`)."""
    root = ET.fromstring(old)
    kind = _local(root.tag)

    def inventory(root) -> Counter:
        got: Counter = Counter()
        for e in root:
            tag = _local(e.tag)
            if tag in WRITTEN_ELEMENTS or (kind == "workbook" and tag not in WORKBOOK_ORDER):
                continue  # mc:AlternateContent: where Excel last saved the file
            if tag == "extLst" and len(e):  # named by its extensions
                got.update(f"ext {x.get('uri')}" for x in e)
            else:
                got[tag] += 1
        return got

    missing = inventory(root) - inventory(ET.fromstring(new))
    return [
        f"{KNOWN_EXTENSIONS.get(k.removeprefix('ext '), k)} on {where}"
        if k.startswith("ext ")
        else f"the {kind} element <{k}> of {where}"
        for k in missing
    ]


def _lost_rich_text(old: Package, new: Package, part: str, target: str, where: str) -> list[str]:
    had, has = rich_cells(old, part), rich_cells(new, target)
    lost = [ref for ref, runs in had.items() if _canon_runs(has.get(ref)) != _canon_runs(runs)]
    return [f"rich text in {where.removeprefix('tab ')}!{ref}" for ref in lost[:5]] + (
        [f"and {len(lost) - 5} more cells of rich text"] if len(lost) > 5 else []
    )


def _canon_runs(runs: str | None) -> str | None:
    if runs is None:
        return None
    return canonicalize(f'<x xmlns="{_MAIN}">{runs}</x>', strip_text=False)


def _lost_cell_metadata(old: bytes, new: bytes, where: str) -> list[str]:
    had, has = cell_metadata(old), cell_metadata(new)
    lost = [ref for ref, attrs in had.items() if has.get(ref) != attrs]
    names = {"cm": "a dynamic array formula", "vm": "a linked data type"}
    return [
        f"{names[next(iter(had[ref]))]} in {where.removeprefix('tab ')}!{ref}" for ref in lost[:5]
    ] + ([f"and {len(lost) - 5} more cells' metadata"] if len(lost) > 5 else [])
