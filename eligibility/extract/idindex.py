"""Compact sets of ids for the checks that span rows and files.

Cross-file checks only need to know which ids exist (and, for people, a date of birth), never
the rows. Even so, Python sets cost about 100 bytes an id: 150MB for the 1.4 million people of
the 1M-children benchmark, twice that with a date of birth each. ``IdIndex`` keeps each id as
its 64-bit hash in an ``array`` (8 bytes, plus 4 for a date of birth), sorted once the table is
read and then searched by bisection.

Hashes can collide, so nothing is concluded from a collision alone:
- a repeated hash is only a *candidate* duplicate: ``validate`` re-reads that table, comparing
  the real ids of the candidates, and reports only true duplicates;
- a link is accepted when its hash is present. A link to a missing person passes only if its
  hash equals one of the n people's: probability n / 2**64 (under 1e-13 at 1.4M people).
Python's string hash is per process (randomised), which is all this needs: an index never
leaves the process that built it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from datetime import date

_DATE_BITS = 22  # date.max.toordinal() == 3_652_059 < 2**22
_DATE_MASK = (1 << _DATE_BITS) - 1


class IdIndex:
    """Ids (in ``values.canonical_id`` form) added while a table is read, then ``seal``ed."""

    __slots__ = ("_hashes", "_dates", "_sealed", "_with_dates")

    def __init__(self, *, with_dates: bool = False):
        self._hashes = array("q")
        self._dates = array("i")
        self._with_dates = with_dates
        self._sealed = False

    def __len__(self) -> int:
        return len(self._hashes)

    def add(self, key: str, when: date | None = None) -> None:
        self._hashes.append(hash(key))
        if self._with_dates:
            self._dates.append(when.toordinal() if when else 0)

    def seal(self) -> set[int]:
        """Sort, and return the hashes that occur more than once (candidate duplicates)."""
        if self._with_dates:
            combined = sorted(
                (h << _DATE_BITS) | d for h, d in zip(self._hashes, self._dates, strict=True)
            )
            self._hashes = array("q", (c >> _DATE_BITS for c in combined))
            self._dates = array("i", (c & _DATE_MASK for c in combined))
            del combined
        else:
            self._hashes = array("q", sorted(self._hashes))
        self._sealed = True
        repeated: set[int] = set()
        previous = None
        for h in self._hashes:
            if h == previous:
                repeated.add(h)
            previous = h
        return repeated

    def _find(self, key: str) -> int:
        if not self._sealed:
            raise RuntimeError("seal() the index before looking ids up")
        h = hash(key)
        i = bisect_left(self._hashes, h)
        return i if i < len(self._hashes) and self._hashes[i] == h else -1

    def __contains__(self, key: str) -> bool:
        return self._find(key) >= 0

    def date_of(self, key: str) -> date | None:
        i = self._find(key)
        if i < 0 or not self._with_dates or not self._dates[i]:
            return None
        return date.fromordinal(self._dates[i])
