"""Carry the parts of a workbook that leadbook does not own through an openpyxl save.

openpyxl models only part of what Excel writes: it drops threaded comments and their person
list, a worksheet's ``extLst`` (sparklines, Excel 2010 data validations and conditional
formats), rich text, Office add-in task panes, custom XML and more. leadbook writes output
tabs only, so everything else in the package was the user's and must come through a write
untouched.

The package is read as Excel reads it, through relationships (:mod:`leadbook.workbook.parts`).
Each part belongs to an *anchor*: the package, the workbook, or a tab. Parts the writer
regenerates (the workbook part, styles, shared strings, document properties and every
worksheet part) and everything under a tab leadbook owns are leadbook's; every other part is
the user's.

:func:`keep_foreign_parts` puts back, in the saved package, the user's parts as they were:
a relationship openpyxl dropped is added again with its parts and content types; a part
openpyxl rewrote is replaced by the original; a worksheet element openpyxl dropped is put
back in schema order; rich text runs go back into their cells.
:func:`~leadbook.workbook.losses.foreign_losses` then compares the two packages part by
part — a digest of each relationship subtree under every anchor the user owns — and names
whatever is still lost, so that the write is refused rather than lose it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from xml.etree.ElementTree import canonicalize

import defusedxml.ElementTree as ET  # noqa: N817

from leadbook import contract as C
from leadbook.workbook.parts import (
    _MAIN,
    _PKG_REL,
    _R,
    ORDERS,
    WRITER_OWNED,
    WRITTEN_ELEMENTS,
    Package,
    Rel,
    _cells_apart,
    _cells_back,
    escape,
    quoteattr,
    rels_name,
)

log = logging.getLogger(__name__)


# --- what belongs to the user ------------------------------------------------------------


def foreign_anchors(original: Package) -> dict[str, str]:
    """Where the user's parts hang: "the workbook", "the package" and each tab leadbook does
    not own (label → the part whose relationships lead to them)."""
    anchors = {"the package": "", "the workbook": original.workbook_part()}
    for tab, part in original.tabs().items():
        if tab not in C.OUTPUT_SHEETS:
            anchors[f"tab {tab}"] = part
    return anchors


def _anchor_in(saved: Package, label: str) -> str | None:
    """The part of ``saved`` where the anchor ``label`` is (None: a tab it lacks)."""
    if label == "the package":
        return ""
    if label == "the workbook":
        return saved.workbook_part()
    return saved.tabs().get(label.removeprefix("tab "))


def _bare(pkg: Package, part: str) -> bytes:
    """Part ``part`` of ``pkg`` without its cells (b"" when ``pkg`` lacks it)."""
    return pkg.bare(part) if part in pkg.parts else b""


def _same_part(old: Package, part: str, new: Package, target: str) -> bool:
    """Whether part ``target`` of ``new`` has the bytes of part ``part`` of ``old``."""
    if part not in old.parts or target not in new.parts:
        return False
    a, b = old.parts[part], new.parts[target]
    return a is b or a == b


def _same_strings(old: Package, new: Package) -> bool:
    """Whether the two packages' shared strings (that a tab's cells index) are the same."""

    def strings(pkg: Package) -> bytes | None:
        rel = next((r for r in pkg.rels(pkg.workbook_part()) if r.kind == "sharedStrings"), None)
        return None if rel is None else pkg.parts.get(rel.target)

    a, b = strings(old), strings(new)
    return a is b or a == b


def _foreign_rels(pkg: Package, part: str) -> list[Rel]:
    return [r for r in pkg.rels(part) if not r.external and r.kind not in WRITER_OWNED]


def subtree_digest(
    pkg: Package,
    part: str,
    _seen: frozenset[str] = frozenset(),
    _done: dict[str, str] | None = None,
) -> str:
    """A digest of ``part`` and, recursively, of every part it relates to (by kind), so two
    subtrees compare equal whatever their parts are named. Each part is digested once per
    call (``_done``): parts related twice to the next, 40 deep, would be 2**40 paths."""
    done: dict[str, str] = {} if _done is None else _done
    if part in done:
        return done[part]
    ctype = pkg.content_type(part) or ""
    h = hashlib.sha256(_canonical(part, pkg.parts.get(part), ctype))
    h.update(ctype.encode())
    if part in _seen:  # a cycle: the part itself, not what it leads back to
        return h.hexdigest()
    below = _seen | {part}
    children = sorted(
        f"{r.kind}:{r.target if r.external else subtree_digest(pkg, r.target, below, done)}"
        for r in pkg.rels(part)
    )
    h.update("\n".join(children).encode())
    done[part] = h.hexdigest()
    return done[part]


def _canonical(part: str, data: bytes | None, ctype: str) -> bytes:
    if data is None:
        return b"<missing>"
    if not part.endswith((".xml", ".vml", ".rels")) and not data.lstrip().startswith(b"<"):
        return data
    try:
        text = canonicalize(data.decode("utf-8"), strip_text=True)
    except (ValueError, SyntaxError):  # not well-formed XML (VML often is not): bytes
        return data
    if ctype == TABLE_TYPE:
        text = _writers_table_fields(text.encode("utf-8"), b"", b"", b"").decode("utf-8")
    return text.encode("utf-8")


TABLE_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
_TABLE_ID = re.compile(rb'^(\s*(?:<\?[^>]*\?>\s*)?<\w[^>]*? id=")(\d+)(")')
_TABLE_COLUMNS = re.compile(rb"<tableColumns\b.*?</tableColumns>|<tableColumns\b[^>]*/>", re.S)
_FILTER_REF = re.compile(rb'(<autoFilter\b[^>]*?\sref=")([^"]*)(")')


def _writers_table_fields(
    xml: bytes, table_id: bytes | None, columns: bytes | None, filter_ref: bytes | None
) -> bytes:
    """A table part with the fields leadbook's writer owns set to those given (None: left
    as they are): its id (ids are workbook-wide, the writer numbers them), its columns and
    its filter's range (the writer names columns after their header cells, see
    ``layout.name_table_columns``). Everything else of a table — its style, totals, alt
    text, extensions — is the user's."""
    if table_id is not None:
        xml = _TABLE_ID.sub(lambda m: m[1] + table_id + m[3], xml, count=1)
    if columns is not None:
        xml = _TABLE_COLUMNS.sub(lambda m: columns, xml, count=1)
    if filter_ref is not None:
        xml = _FILTER_REF.sub(lambda m: m[1] + filter_ref + m[3], xml, count=1)
    return xml


def _table_fields(xml: bytes) -> tuple[bytes | None, bytes | None, bytes | None]:
    """The fields :func:`_writers_table_fields` sets, as ``xml`` has them."""
    found = _TABLE_ID.search(xml), _TABLE_COLUMNS.search(xml), _FILTER_REF.search(xml)
    return (
        found[0][2] if found[0] else None,
        found[1][0] if found[1] else None,
        found[2][2] if found[2] else None,
    )


# --- putting back what openpyxl dropped ---------------------------------------------------


def keep_foreign_parts(original: Path | Package, saved: Path | Package) -> None:
    """Put back in ``saved`` (written by openpyxl from ``original``) the user's parts,
    worksheet elements and rich text it dropped or rewrote (see the module doc): a package
    in memory is changed in place, a file is written again if anything was put back."""
    old, new = Package.of(original), Package.of(saved)
    graft = _Graft(old, new)
    for label, part in foreign_anchors(old).items():
        target = _anchor_in(new, label)
        if target is None:
            continue
        before = new.parts.copy(), dict(graft.done), dict(graft.rid_map), set(graft.replaced)
        try:
            graft.relationships(part, target)
            # a part saved as it was (a tab spliced back) has every element, cell attribute
            # and — its strings the same — rich text run it had: nothing to put back
            same = bool(part) and _same_part(old, part, new, target)
            if part and not same:
                graft.elements(part, target)
            if label.startswith("tab ") and not (same and _same_strings(old, new)):
                graft.rich_text(part, target)
            if label.startswith("tab ") and not same:
                graft.cell_attributes(part, target)
        except (ValueError, KeyError, IndexError, StopIteration, SyntaxError) as exc:
            # a part leadbook cannot read as it expects: leave it to the audit to refuse
            log.warning("%s: cannot put back what openpyxl dropped (%s)", label, exc)
            new.parts, graft.done, graft.rid_map, graft.replaced = before
    if graft.changed:
        graft.collect_garbage()
        if not isinstance(saved, Package):
            new.write(saved)


class _Graft:
    def __init__(self, old: Package, new: Package):
        self.old, self.new = old, new
        self.changed = False
        self.replaced: set[str] = set()
        self.done: dict[str, str] = {}
        """Original part → its name in the new package, once placed there: a part two
        anchors share (a pivot cache) is placed once."""
        self.rid_map: dict[tuple[str, str], str] = {}
        """(new anchor part, old relationship id) → the id it has in the new package."""

    def relationships(self, old_part: str, new_part: str) -> None:
        """Pair the user's relationships of ``old_part`` with those of ``new_part`` (see
        :func:`_pairs`); replace a rewritten subtree, add one that was dropped — unless the
        anchor's own XML refers to it: that needs the referring element back, which
        :meth:`elements` puts back with it."""
        referenced = _referenced_ids(_bare(self.old, old_part))
        for old, new in _pairs(self.old, old_part, self.new, new_part):
            if old.target in self.done:  # placed already, from another anchor
                if new is not None:
                    self.rid_map[(new_part, old.id)] = new.id
                elif old.id not in referenced:
                    self.rid_map[(new_part, old.id)] = self._add_rel(new_part, old)
            elif new is not None:
                self.rid_map[(new_part, old.id)] = new.id
                self.done.setdefault(old.target, new.target)
                if subtree_digest(self.old, old.target) != subtree_digest(self.new, new.target):
                    self._replace(old.target, new.target)
            elif old.id not in referenced:
                self.rid_map[(new_part, old.id)] = self._add_rel(new_part, old)

    def _add_external(self, new_part: str, rel: Rel) -> str:
        return self._add_rel(new_part, rel, target=rel.target)

    def _add_rel(self, new_part: str, rel: Rel, target: str | None = None) -> str:
        external = target is not None
        target = target if external else "/" + self._copy(rel.target)  # reuses a placed part
        rels = rels_name(new_part)
        xml = self.new.parts.get(
            rels, f'<Relationships xmlns="{_PKG_REL}"></Relationships>'.encode()
        )
        text = xml.decode("utf-8")
        taken = set(re.findall(r'\bId="([^"]+)"', text))
        rid = next(f"rIdLb{i}" for i in range(1, 10_000) if f"rIdLb{i}" not in taken)
        mode = ' TargetMode="External"' if external else ""
        entry = (
            f"<Relationship Id={quoteattr(rid)} Type={quoteattr(rel.type)} "
            f"Target={quoteattr(target)}{mode}/>"
        )
        self.new.parts[rels] = _before_close(text, "Relationships", entry).encode("utf-8")
        self.changed = True
        return rid

    def _replace(self, old_name: str, new_name: str) -> None:
        """Put the original subtree at ``old_name`` in place of the one at ``new_name``."""
        self.replaced |= {r.target for r in self.new.rels(new_name) if not r.external}
        data = self.old.parts[old_name]
        if self.old.content_type(old_name) == TABLE_TYPE:
            data = _writers_table_fields(data, *_table_fields(self.new.parts[new_name]))
        self._put(old_name, new_name, data)
        self.changed = True

    def _copy(self, old_name: str) -> str:
        """Copy the original subtree at ``old_name`` into the new package under a free
        name; the name it got."""
        if old_name in self.done:
            return self.done[old_name]
        name = _free_name(old_name, self.new.parts)
        self._put(old_name, name, self.old.parts[old_name])
        return name

    def _put(self, old_name: str, name: str, data: bytes) -> None:
        self.done[old_name] = name
        self.new.parts[name] = data
        self._set_content_type(name, self.old.content_type(old_name))
        children = self.old.rels(old_name)
        rels = rels_name(name)
        if not children:
            self.new.parts.pop(rels, None)
            return
        self.new.parts[rels] = b""  # reserve the name while the children are copied
        entries = []
        for r in children:
            target = r.target if r.external else "/" + self._copy(r.target)
            mode = ' TargetMode="External"' if r.external else ""
            entries.append(
                f"<Relationship Id={quoteattr(r.id)} Type={quoteattr(r.type)} "
                f"Target={quoteattr(target)}{mode}/>"
            )
        self.new.parts[rels] = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{_PKG_REL}">{"".join(entries)}</Relationships>'
        ).encode()

    def _set_content_type(self, name: str, ctype: str | None) -> None:
        if ctype is None or self.new.content_type(name) == ctype:
            return
        text = self.new.parts["[Content_Types].xml"].decode("utf-8")
        text = re.sub(rf'<Override PartName="/{re.escape(name)}"[^>]*/>', "", text)
        entry = f"<Override PartName={quoteattr('/' + name)} ContentType={quoteattr(ctype)}/>"
        self.new.parts["[Content_Types].xml"] = _before_close(text, "Types", entry).encode()

    def elements(self, old_part: str, new_part: str) -> None:
        """Put back each worksheet element openpyxl dropped (an ``extLst`` with sparklines
        or Excel 2010 validations, ``ignoredErrors``…) in schema order, and each element it
        kept without its relationship (``pageSetup`` without its printer settings), with
        the relationships they refer to."""
        # the cells hold no element to put back nor a relationship: set them aside
        old_bytes = self.old.bare(old_part)
        new_bytes, cells = _cells_apart(self.new.parts[new_part], self.new.bare(new_part))
        old_xml, new_xml = old_bytes.decode("utf-8"), new_bytes.decode("utf-8")
        order = ORDERS.get(_root(old_xml)["tag"], ())
        have = dict(_top_elements(new_xml))
        changed = False
        for tag, raw in _top_elements(old_xml):
            ids = set(_ordered_ids(raw.encode("utf-8"), old_bytes))
            if (
                tag not in order
                or tag in WRITTEN_ELEMENTS
                or (tag in have and (not ids or _ordered_ids(have[tag].encode("utf-8"), new_bytes)))
            ):
                continue
            raw = self._remap_ids(raw, ids, old_part, new_part)
            if tag in have:
                new_xml = new_xml.replace(have[tag], raw, 1)
            else:
                new_xml = _insert_in_order(new_xml, tag, raw, order)
            new_xml = _declare_namespaces(new_xml, old_xml)
            have[tag] = raw
            self.changed = changed = True
        if changed:  # else the part stays as it is, not copied (History's is 75 MB)
            self.new.parts[new_part] = _cells_back(new_xml.encode("utf-8"), cells)

    def _remap_ids(self, raw: str, ids: set[str], old_part: str, new_part: str) -> str:
        """``raw`` with each relationship id of ``ids`` changed to the id it has in the new
        package (adding the relationship and its parts when it is not there yet)."""
        for rid in ids:
            if (new_part, rid) not in self.rid_map:
                rel = next(r for r in self.old.rels(old_part) if r.id == rid)
                self.rid_map[(new_part, rid)] = (
                    self._add_external(new_part, rel)
                    if rel.external
                    else self._add_rel(new_part, rel)
                )
        if not ids:
            return raw
        pattern = "|".join(re.escape(rid) for rid in ids)
        return re.sub(
            rf'(\w+:\w+=")({pattern})(")',
            lambda m: m[1] + self.rid_map[(new_part, m[2])] + m[3],
            raw,
        )

    def rich_text(self, old_part: str, new_part: str) -> None:
        """Give back their runs (and phonetic guides) to the cells of a tab whose text
        openpyxl flattened."""
        rich = rich_cells(self.old, old_part)
        if not rich:
            return

        def put(m: re.Match[str]) -> str:
            runs = rich.get(m["ref"])
            return m[0] if runs is None else f"{m['open']}<is>{runs}</is>"

        xml = self.new.parts[new_part].decode("utf-8")
        xml, n = _INLINE_CELL.subn(put, xml)
        self.changed |= n > 0
        self.new.parts[new_part] = xml.encode("utf-8")

    def cell_attributes(self, old_part: str, new_part: str) -> None:
        """Give back to each cell the metadata openpyxl drops from it: ``cm`` (a dynamic
        array formula, which openpyxl would leave a legacy array formula) and ``vm`` (a
        linked data type's value)."""
        kept = cell_metadata(self.old.parts[old_part])
        if not kept:
            return

        def put(m: re.Match[str]) -> str:
            extra = "".join(
                f" {k}={quoteattr(v)}"
                for k, v in kept.get(m["ref"], {}).items()
                if f" {k}=" not in m[0]
            )
            return m[0][:-1] + extra + ">" if not m[0].endswith("/>") else m[0][:-2] + extra + "/>"

        xml = self.new.parts[new_part].decode("utf-8")
        xml = _CELL_TAG.sub(put, xml)
        self.changed = True
        self.new.parts[new_part] = xml.encode("utf-8")

    def collect_garbage(self) -> None:
        """Drop the parts a replacement left unreferenced (openpyxl's own rewrites)."""
        live = set()
        stack = [""]
        while stack:
            part = stack.pop()
            for r in self.new.rels(part):
                if not r.external and r.target not in live:
                    live.add(r.target)
                    stack.append(r.target)
        for name in self.replaced - live:
            self.new.parts.pop(name, None)
            self.new.parts.pop(rels_name(name), None)
            text = self.new.parts["[Content_Types].xml"].decode("utf-8")
            text = re.sub(rf'<Override PartName="/{re.escape(name)}"[^>]*/>', "", text)
            self.new.parts["[Content_Types].xml"] = text.encode("utf-8")


def _pairs(
    old: Package, old_part: str, new: Package, new_part: str
) -> list[tuple[Rel, Rel | None]]:
    """Each of the user's relationships of ``old_part`` with its counterpart in the new
    package (None if it has none). A relationship the part's XML refers to pairs with the one
    referred to from the same place (the n-th id in the n-th element of that name), so a
    header image's VML is never taken for the comments' VML; the others pair by kind, in
    order."""
    old_sites = _reference_sites(_bare(old, old_part))
    same = bool(old_part) and _same_part(old, old_part, new, new_part)  # (a tab spliced back)
    new_sites = old_sites if same else _reference_sites(_bare(new, new_part))
    new_by_site = {site: rid for rid, site in new_sites.items()}
    theirs = {r.id: r for r in _foreign_rels(new, new_part)}
    unreferenced: dict[str, list[Rel]] = {}
    for r in theirs.values():
        if r.id not in new_by_site.values():
            unreferenced.setdefault(r.kind, []).append(r)
    out = []
    for r in _foreign_rels(old, old_part):
        if r.target not in old.parts:
            continue  # a dangling relationship carries nothing
        if r.id in old_sites:
            match = theirs.get(new_by_site.get(old_sites[r.id], ""))
            out.append((r, match if match is not None and match.kind == r.kind else None))
        else:
            pool = unreferenced.get(r.kind, [])
            out.append((r, pool.pop(0) if pool else None))
    return out


def _reference_sites(xml: bytes) -> dict[str, tuple[str, int, int]]:
    """Relationship id → where the part's XML refers to it: (element under the root, its
    number among elements of that name, the id's number within it)."""
    if not xml:
        return {}
    seen: Counter = Counter()
    out: dict[str, tuple[str, int, int]] = {}
    for tag, raw in _top_elements(xml.decode("utf-8")):
        for j, rid in enumerate(_ordered_ids(raw.encode("utf-8"), xml)):
            out.setdefault(rid, (tag, seen[tag], j))
        seen[tag] += 1
    return out


def _free_name(name: str, taken: Iterable[str]) -> str:
    taken = {t.casefold() for t in taken}
    if name.casefold() not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    base = stem.rstrip("0123456789")
    return next(
        f"{base}{i}{dot}{ext}"
        for i in range(1, 100_000)
        if f"{base}{i}{dot}{ext}".casefold() not in taken
    )


def _before_close(text: str, root: str, entry: str) -> str:
    at = text.rfind(f"</{root}>")
    if at < 0:  # an empty root written as <Root .../>
        m = re.search(rf"<{root}\b[^>]*?/>", text)
        return text[: m.end() - 2] + ">" + entry + f"</{root}>" + text[m.end() :]
    return text[:at] + entry + text[at:]


def _referenced_ids(xml: bytes) -> set[str]:
    """Relationship ids a part's XML refers to (``r:id``, ``r:embed``… attributes)."""
    return set(_ordered_ids(xml))


def _ordered_ids(xml: bytes, whole: bytes | None = None) -> list[str]:
    """The relationship ids ``xml`` refers to, in order: the values of attributes in the
    relationships namespace, whatever prefix ``whole`` (the part ``xml`` was cut from)
    binds it to."""
    bound = rb'xmlns:([\w.-]+)="' + re.escape(_R.encode()) + rb'"'
    prefixes = set(re.findall(bound, xml)) | set(re.findall(bound, whole or b"")) or {b"r"}
    pattern = rb"\b(?:" + rb"|".join(map(re.escape, prefixes)) + rb'):\w+="([^"]+)"'
    return [m.decode() for m in re.findall(pattern, xml)]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


_ELEMENT = re.compile(r"<(?:(?P<p>[\w.-]+):)?(?P<tag>[\w.-]+)(?=[\s/>])")


def _root(xml: str) -> re.Match[str]:
    """The start tag's name of the root element of ``xml``."""
    return _ELEMENT.search(xml, re.search(r"<[^?!]", xml).start())


def _top_elements(xml: str) -> list[tuple[str, str]]:
    """(local name, raw text) of each child of the root element, in order."""
    pos = xml.index(">", _root(xml).start()) + 1
    out = []
    while (m := _ELEMENT.search(xml, pos)) is not None:
        qname = f"{m['p']}:{m['tag']}" if m["p"] else m["tag"]
        end = _element_end(xml, m.start(), qname)
        out.append((m["tag"], xml[m.start() : end]))
        pos = end
    return out


def _element_end(xml: str, start: int, qname: str) -> int:
    close = xml.index(">", start)
    if xml[close - 1] == "/":
        return close + 1
    depth, pos = 1, close + 1
    pattern = re.compile(rf"<(/?){re.escape(qname)}(?=[\s/>])[^>]*?(/?)>")
    while depth:
        m = pattern.search(xml, pos)
        depth += -1 if m[1] else (0 if m[2] else 1)
        pos = m.end()
    return pos


def _insert_in_order(xml: str, tag: str, raw: str, order: tuple[str, ...]) -> str:
    later = order[order.index(tag) + 1 :]
    for child, text in _top_elements(xml):
        if child in later:
            at = xml.index(text)
            return xml[:at] + raw + xml[at:]
    return _before_close(xml, _root_qname(xml), raw)


def _root_qname(xml: str) -> str:
    return _root(xml)[0][1:]


def _namespaces(xml: str) -> dict[str, str]:
    start = _root(xml).start()
    root = xml[start : xml.index(">", start)]
    return dict(re.findall(r'xmlns:([\w.-]+)="([^"]*)"', root))


def _declare_namespaces(xml: str, source: str) -> str:
    """Declare on the root of ``xml`` the prefixes of ``source``'s root it lacks (grafted
    elements use them), and say which may be ignored as ``source`` did (``mc:Ignorable``):
    an Excel that does not know ``xr:uid`` skips it rather than repair the file."""
    have = _namespaces(xml)
    wanted = _namespaces(source)
    extra = "".join(f" xmlns:{p}={quoteattr(ns)}" for p, ns in wanted.items() if p not in have)
    start = _root(source).start()
    ignorable = re.search(r'\s(\w+):Ignorable="([^"]*)"', source[start : source.index(">", start)])
    root_tag = xml[_root(xml).start() : xml.index(">", _root(xml).start())]
    if ignorable and ":Ignorable=" not in root_tag:
        extra += f" {ignorable[1]}:Ignorable={quoteattr(ignorable[2])}"
    m = _root(xml)
    return xml[: m.end()] + extra + xml[m.end() :]


_INLINE_CELL = re.compile(
    r'(?P<open><c r="(?P<ref>[A-Z]+\d+)"[^>]*?t="inlineStr"[^>]*>)<is>.*?</is>', re.S
)
_CELL_TAG = re.compile(r'<c r="(?P<ref>[A-Z]+\d+)"[^>]*?/?>')
CELL_METADATA = ("cm", "vm")
"""Cell attributes openpyxl drops: cell metadata (a dynamic array) and value metadata (a
linked data type), both indexes into the workbook's metadata part."""


def cell_metadata(xml: bytes) -> dict[str, dict[str, str]]:
    """Cell → its :data:`CELL_METADATA` attributes, for each cell of a worksheet that has
    any."""
    if b" cm=" not in xml and b" vm=" not in xml:
        return {}
    out = {}
    for cell in ET.fromstring(xml).iter(f"{{{_MAIN}}}c"):
        found = {k: cell.get(k) for k in CELL_METADATA if cell.get(k) is not None}
        if found:
            out[cell.get("r")] = found
    return out


def _is_rich(string) -> bool:
    """Whether a string item has more than plain text: runs, or phonetic guides."""
    return any(_local(child.tag) != "t" for child in string)


def rich_cells(pkg: Package, sheet: str) -> dict[str, str]:
    """Cell → its rich text (raw runs and phonetic guides) for each cell of ``sheet`` whose
    string has them, inline or shared."""
    xml = pkg.parts.get(sheet, b"")
    inline = b"<r>" in xml or b"<rPh" in xml
    if not inline and b't="s"' not in xml:
        return {}
    shared = _shared_rich(pkg)
    if not inline and not shared:  # plain shared strings only: nothing to parse the tab for
        return {}
    out = {}
    for cell in ET.fromstring(xml).iter(f"{{{_MAIN}}}c"):
        kind = cell.get("t")
        if kind == "inlineStr":
            string = cell.find(f"{{{_MAIN}}}is")
            if string is not None and _is_rich(string):
                out[cell.get("r")] = _inner(string)
        elif kind == "s" and shared:
            v = cell.find(f"{{{_MAIN}}}v")
            if v is not None and v.text and int(v.text) in shared:
                out[cell.get("r")] = shared[int(v.text)]
    return out


def _shared_rich(pkg: Package) -> dict[int, str]:
    rel = next((r for r in pkg.rels(pkg.workbook_part()) if r.kind == "sharedStrings"), None)
    if rel is None or rel.target not in pkg.parts:
        return {}
    out = {}
    for i, si in enumerate(ET.fromstring(pkg.parts[rel.target]).iter(f"{{{_MAIN}}}si")):
        if _is_rich(si):
            out[i] = _inner(si)
    return out


def _inner(element) -> str:
    """The children of an ``si``/``is`` element as XML in the default (main) namespace."""
    return "".join(_xml(child) for child in element)


def _xml(e) -> str:
    """``e`` as XML whose main-namespace names are unprefixed (runs use no other)."""
    tag = _local(e.tag) if e.tag.startswith(f"{{{_MAIN}}}") else e.tag
    attrs = "".join(
        f" {k.replace('{http://www.w3.org/XML/1998/namespace}', 'xml:')}={quoteattr(v)}"
        for k, v in e.attrib.items()
    )
    body = escape(e.text or "") + "".join(_xml(c) + escape(c.tail or "") for c in e)
    return f"<{tag}{attrs}>{body}</{tag}>" if body else f"<{tag}{attrs}/>"
