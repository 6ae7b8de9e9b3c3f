"""The import's first pass: what the checking read of an extract tells the writer.

While ``scan_extract`` validates, every record passes through ``Plan.observe``, which keeps
only what deciding *who is kept* needs, in compact form: 64-bit hashes of canonical ids in
arrays (8 bytes an id), the children with a counted, review or unrecognised event, the
mother-child links, and the current postcode of each woman who will be kept. The events
themselves go straight to a staging table (the caller's ``events`` sink), so they are read once.
Memory grows with the number of people, a few tens of bytes each, never with the file's size
in rows. ``finish`` then gives the kept women, and each kept child's mother.

A hash stands for an id within one import only (Python's string hash is salted per process).
Two different ids with the same hash would be found by ``finish`` (the person ids were checked
unique, so a repeated hash can only be a collision) and the import stopped, never merged.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable
from datetime import date

from eligibility.extract import AddressRow, EpisodeRow, LegalStatusRow, MotherRow, PersonRow
from eligibility.extract.codes import CodeList, Position, default_position
from eligibility.extract.values import canonical_id

KEPT_POSITIONS = (Position.COUNTED, Position.REVIEW)
_MASK = (1 << 64) - 1


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def id_hash(person_id: str) -> int:
    return hash(canonical_id(person_id))


def _is_relevant(code_list: CodeList, code: str | None) -> bool:
    return code is not None and default_position(code_list, code) in KEPT_POSITIONS


def _contains(sorted_hashes: array, h: int) -> bool:
    i = bisect_left(sorted_hashes, h)
    return i < len(sorted_hashes) and sorted_hashes[i] == h


class HashCollision(RuntimeError):
    """Two different person ids of one extract share a 64-bit hash (about one extract in 10^8
    of a million people): the import stops rather than mix two people up."""


class Plan:
    def __init__(self, *, events: Callable[[object, int], None], addresses_after_links: Callable[[], bool]):
        self._events = events  # called with (record, child hash) for each legal status / episode
        self._addresses_after_links = addresses_after_links  # SSD: True; flat (interleaved): False
        self.present = array("q")  # every person of the extract
        self._no_dob: set[int] = set()  # people without a date of birth
        self._link_mother, self._link_child = array("q"), array("q")
        self.link_dob: dict[int, date] = {}  # a child's date of birth from a link, when ssd_person has none
        self._relevant: set[int] = set()  # children with a counted, review or unrecognised event
        self._postcodes: dict[int, tuple[int, str]] = {}
        self._kept_women: array | None = None
        self.kept_children = array("q")  # sorted
        self.mother_of_kept = array("q")  # the mother of kept_children[i] (0 when several: see below)
        self.several_mothers: dict[int, list[int]] = {}  # kept child -> its kept mothers (rare)

    # --- the first pass ------------------------------------------------------------------------
    def observe(self, record) -> None:
        kind = type(record)
        if kind is PersonRow:
            h = id_hash(record.person_id)
            self.present.append(h)
            if record.dob is None:
                self._no_dob.add(h)
        elif kind is MotherRow:
            child = id_hash(record.child_id)
            self._link_mother.append(id_hash(record.mother_id))
            self._link_child.append(child)
            if record.child_dob is not None and child in self._no_dob:
                self.link_dob[child] = record.child_dob
        elif kind is LegalStatusRow:
            child = id_hash(record.person_id)
            if _is_relevant(CodeList.LEGAL_STATUS, record.code):
                self._relevant.add(child)
            self._events(record, child)
        elif kind is EpisodeRow:
            child = id_hash(record.person_id)
            if _is_relevant(CodeList.EPISODE_CEASED, record.ceased_reason):
                self._relevant.add(child)
            self._events(record, child)
        elif kind is AddressRow:
            self._address(record)

    def _address(self, a: AddressRow) -> None:
        """Keep the current postcode: an open address, else the one started last."""
        if not a.postcode:
            return
        h = id_hash(a.person_id)
        if self._addresses_after_links() and not _contains(self._women(), h):
            return  # not a woman who will be kept: her address is not needed
        rank = (int(a.end_date is None) << 32) | (a.start_date or date.min).toordinal()
        best = self._postcodes.get(h)
        if best is None or rank >= best[0]:
            self._postcodes[h] = (rank, a.postcode)

    # --- after it ------------------------------------------------------------------------------
    def _women(self) -> array:
        """The kept women: mothers with at least one relevant child (sorted; computed once all
        links and events are in)."""
        if self._kept_women is None:
            relevant = self._relevant
            self._kept_women = array(
                "q", sorted({m for m, c in zip(self._link_mother, self._link_child, strict=True) if c in relevant})
            )
        return self._kept_women

    def finish(self) -> None:
        """Decide who is kept. Raises HashCollision (see the module docstring)."""
        self.present = array("q", sorted(self.present))
        if any(a == b for a, b in zip(self.present, self.present[1:], strict=False)):
            raise HashCollision("Two person ids of this extract share a hash; the import was stopped.")
        women = self._women()
        # Each kept link as one 128-bit int (child, then mother: sorting groups a child's
        # mothers), a third of the memory of a tuple of two.
        packed = sorted((c << 64) | (m & _MASK) for m, c in zip(self._link_mother, self._link_child, strict=True)
                        if _contains(women, m))  # fmt: skip
        self._link_mother = self._link_child = array("q")
        self._relevant, self._no_dob = set(), set()
        previous = None
        for pair in packed:
            if pair == previous:
                continue  # the same link twice
            previous = pair
            c, m = pair >> 64, _signed(pair & _MASK)
            if self.kept_children and self.kept_children[-1] == c:
                self.several_mothers.setdefault(c, [self.mother_of_kept[-1]]).append(m)
                self.mother_of_kept[-1] = 0
                continue
            self.kept_children.append(c)
            self.mother_of_kept.append(m)
        del packed
        self._postcodes = {h: v for h, v in self._postcodes.items() if _contains(women, h)}

    def is_kept_woman(self, h: int) -> bool:
        return _contains(self._women(), h)

    @property
    def kept_women_count(self) -> int:
        return len(self._women())

    def kept_child(self, h: int) -> tuple[bool, int]:
        """(kept, mother hash; 0 when the child has several kept mothers: see several_mothers)."""
        i = bisect_left(self.kept_children, h)
        if i < len(self.kept_children) and self.kept_children[i] == h:
            return True, self.mother_of_kept[i]
        return False, 0

    def postcode(self, h: int) -> str | None:
        best = self._postcodes.get(h)
        return best[1] if best else None

    def is_present(self, person_id: str) -> bool:
        return _contains(self.present, id_hash(person_id))
