"""The walk along the hash chain (ADR 14): each link checked in seq order against the one before
it, over rows arriving in entry order. Shared by the single streamed pass (`sealing_verify`) and
by the range workers that verify the chain on both cores (`sealing_ranges`, ADR 53), which run in
processes of their own: so this module needs no Django app, only the standard library and the
canonical text's helpers.

A row is one line of the verifier's stream (`sealing_verify.STREAM_SQL`): the seal's seq, the
entry's id, the seal's digest and link (NULL when not yet sealed), the entry's time plus the late
tolerance, its subjects' array and its COPY line.
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Iterable, Iterator
from datetime import timedelta

from audit.core.sealing_digest import NULL, subject_lines

# An entry may be dated before the link sealed ahead of it by at most this much (the longest
# transaction we expect: it is stamped when written, sealed once committed); more than that and
# it was inserted afterwards, not committed late.
LATE_TOLERANCE = timedelta(minutes=15)

FIRST_ID = -(2**63) + 1  # ids are bigints and need not be positive (an attacker's need not be)
NO_STOP = 2**63  # past any seq: a walk that runs to the chain's end


def hmac_pads(key: bytes):
    """HMAC-SHA256 under `key` as two hash states to copy: HMAC(key, m) is
    outer.copy().update(inner.copy().update(m).digest()) (RFC 2104)."""
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in block)), hashlib.sha256(bytes(b ^ 0x5C for b in block)))


class Walk:
    """The chain walked in seq order, from link `seq` (whose predecessor's value is `previous`,
    its entry's time `ahead`) up to, not including, link `stop`, over rows arriving in entry
    order: a row whose link comes later waits (`pending`) until the link ahead of it is checked.
    Rows of links outside [seq, stop) are someone else's and are passed over; rows with no seal
    are counted (`unsealed`). A second seal claiming a link of the walk is a problem."""

    def __init__(self, key: bytes, gaps: dict[int, tuple[int, str]], wanted: set[int], seq: int, previous: str, *,
                 limit: int, stop: int = NO_STOP, ahead: str | None = None, claims_below: bool = True):
        self.key, self.wanted, self.stop = key, wanted, stop
        self.gaps = {start: (after, chain.encode()) for start, (after, chain) in gaps.items()}
        # A seal below the walk's first link that no purge explains is a second claim on a link —
        # unless links below it are another range's (ADR 53).
        self.first = -(2**63) if claims_below else seq
        self.expected, self.previous = seq, previous.encode()
        self.ahead = None if ahead is None else ahead.encode()  # the time of the entry before
        self.pending: dict[int, list[bytes]] = {}
        self.limit = limit
        self.chain_at: dict[int, str] = {}
        self.links = self.unsealed = self.last_seq = 0
        self.last_id = FIRST_ID - 1  # the last entry streamed
        self.problem: str | None = None

    @property
    def done(self) -> bool:
        return self.expected >= self.stop

    def run(self, lines: Iterable[bytes]) -> bool:
        """Walk these lines; False when it stopped early: at a broken link (`problem`) or with too
        many rows waiting. The state is kept, so a walk can carry on after `last_id`.
        The hot loop of verification: everything it needs is a local, and the HMAC is taken from
        the key's precomputed pads (hmac.digest looks the hash up again on every call)."""
        gaps, wanted, pending, chain_at = self.gaps, self.wanted, self.pending, self.chain_at
        expected, previous, ahead, limit, stop = self.expected, self.previous, self.ahead, self.limit, self.stop
        inner, outer = hmac_pads(self.key)
        inner_copy, outer_copy, sha_copy = inner.copy, outer.copy, hashlib.sha256().copy
        hexlify, null, newline = binascii.hexlify, NULL, b"\n"
        links = unsealed = 0
        last_seq = self.last_seq
        try:
            for line in lines:
                row = line.split(b"\t", 6)
                seq_b = row[0]
                if seq_b == null:
                    unsealed += 1
                    continue
                seq = int(seq_b)
                if seq != expected or seq >= stop:
                    if expected < seq < stop:  # the link ahead of it is still to come
                        if seq in pending:
                            self.problem = _twice(row)
                            return False
                        pending[seq] = row
                        if len(pending) > limit:
                            self.last_id = int(row[1])  # where a walk carrying on starts again
                            return False
                    elif self.first <= seq < expected and not any(
                            start <= seq < after for start, (after, _) in gaps.items()):
                        # Walked already: a second seal claiming a link of this walk (on PostgreSQL
                        # seq is unique only within a month: ADR 52).
                        self.problem = _twice(row)
                        return False
                    continue  # else before the walk's start, past its stop, or in a purged run: not its part
                while True:
                    _, entry_b, digest, chain, latest, subjects, entry = row
                    # the entry's digest (copy_digest, inlined): its line, then its subjects' lines
                    if subjects == null:
                        text = entry + newline
                    elif b"," in subjects or b'"' in subjects or b"\\" in subjects:
                        text = entry + newline + subject_lines(subjects)
                    else:  # one subject, as COPY writes it
                        text = entry + newline + subjects[1:-1] + newline
                    h = sha_copy()
                    h.update(text)
                    if hexlify(h.digest()) != digest:
                        self.problem = f"{_where(row)}: the entry's content no longer matches its seal (modified)"
                        return False
                    h = inner_copy()
                    h.update(b"|".join((seq_b, entry_b, digest, previous)))
                    mac = outer_copy()
                    mac.update(h.digest())
                    if hexlify(mac.digest()) != chain:
                        self.problem = (f"{_where(row)}: the link does not follow from the one before (reordered, "
                                        "inserted, or the chain recomputed without the key)")
                        return False
                    if ahead is not None and latest < ahead:  # (times as PostgreSQL writes them sort as text)
                        self.problem = (f"{_where(row)}: dated {_time(entry)}, well before the entry ahead of it in "
                                        f"the chain ({ahead.decode()}): it was inserted, not committed late")
                        return False
                    if seq in wanted:
                        chain_at[seq] = chain.decode()
                    previous, ahead, last_seq = chain, entry.split(b"\t", 2)[1], seq
                    links += 1
                    expected = seq + 1
                    while expected in gaps:  # a run removed by a retention purge
                        expected, previous = gaps[expected]
                        ahead = None
                    row = pending.pop(expected, None)
                    if row is None:
                        break
                    seq_b, seq = row[0], expected
            return True
        finally:
            self.expected, self.previous, self.ahead, self.last_seq = expected, previous, ahead, last_seq
            self.links += links
            self.unsealed += unsealed


def _twice(row: list[bytes]) -> str:
    return (f"{_where(row)}: a second seal for a link already in the chain (a seal forged beside it, or an entry "
            "sharing another's id)")


def _where(row: list[bytes]) -> str:
    return f"link {row[0].decode()} (entry {row[1].decode()})"


def _time(entry_line: bytes) -> str:
    return entry_line.split(b"\t", 2)[1].decode()


def missing_link(seq: int, found: tuple[int, int] | None, entry_exists: bool, still_to_come: bool) -> str | None:
    """Why link `seq` has not been walked, from the first link at or after it (`found`: seq, entry
    id) and whether that link's entry exists. None when there is none (the chain ends before it)
    or it is still to come."""
    if found is None:
        return None
    at, entry_id = found
    if at != seq:
        return f"link {seq} is missing: the chain jumps to {at} (a link was deleted, or links were reordered)"
    if not entry_exists:
        return f"link {seq} (entry {entry_id}): the entry is missing (deleted)"
    if still_to_come:
        return None
    return f"link {seq} (entry {entry_id}) is out of place: its entry was not where the chain says"


def dangling(seq: int) -> str:
    """Links wait beyond `seq`, which the chain never reached."""
    return f"link {seq} is missing (a link was deleted, or links were reordered)"


def copy_rows(copy, finished: list[bool]) -> Iterator[bytes]:
    """The rows of a `COPY ... TO STDOUT`, newline dropped; `finished` gets True once it has ended."""
    for block in copy:  # one CopyData message, always one row (the protocol says so), newline-ended
        yield bytes(block[:-1])
    finished.append(True)
