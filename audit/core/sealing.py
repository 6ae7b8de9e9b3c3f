"""The audit trail's tamper evidence: a keyed hash chain over the committed entries, sealed in the
background, checkpointed outside the database, and verified end to end (issue 8, point 1; ADR 14).

- `seal_pending()` (Celery beat every minute; `manage.py seal_audit_trail`): every committed entry
  not yet sealed gets the next link, in id order among those it finds — so writers never wait on
  the chain, and an entry whose transaction commits after a higher id was sealed is sealed when
  it appears (marked `late`), never skipped. Two sealers never interleave (an advisory lock on
  PostgreSQL; SQLite serialises writers anyway).
- A link is HMAC-SHA256(key, "seq|entry id|entry digest|previous link") (`audit.core.sealing_chain`);
  the entry digest is SHA-256 over the entry's canonical text — its columns and sorted subjects
  as PostgreSQL renders a record (`audit.core.sealing_digest`), computed by PostgreSQL itself.
- Every batch the sealer seals is checkpointed before it commits: the new chain head is written
  outside the database (a write-once folder or a database of its own, `audit.core.checkpoint_stores`)
  inside the batch's transaction, so no link is ever committed without a checkpoint at or past
  it, and a tail cut goes unnoticed for at most one sealing interval (the entries not yet
  sealed). When the store cannot be written the batch rolls back and is sealed next minute. The
  first seal of a chain starts the store; a store found empty beside an existing chain is not
  started again by the sealer (it logs an error and seals on): only an operator does that
  (`seal_audit_trail --checkpoint`), after `verify_audit_trail` has said so.
- `write_checkpoint()` (hourly catch-up; `seal_audit_trail --checkpoint`) writes the chain head
  when the store's newest checkpoint is not at it.
- `verify()` (`manage.py verify_audit_trail`; `audit.core.sealing_verify`) recomputes every link from
  the anchor in one streamed pass (a long chain on PostgreSQL: in ranges on both cores, ADR 53), compares each day's newest checkpoint, and reports the first
  broken link; an empty store beside a chain, or checkpoints beside an emptied trail, fail it.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.utils import timezone

from audit.core.models import AuditChainAnchor, AuditSeal
from audit.core.sealing_chain import (  # noqa: F401  (the chain's public names, re-exported)
    ADVISORY_LOCK,
    GENESIS,
    LATE_TOLERANCE,
    CheckpointStoreEmpty,
    anchor_mac,
    chain_key,
    checkpoint_dir,
    checkpoint_record,
    checkpoint_store,
    late_cutoff,
    link,
    read_checkpoints,
    unsealed_entries,
    unsealed_since_head,
    write_checkpoint,
)
from audit.core.sealing_digest import ENTRY_COLUMNS, entry_digests  # noqa: F401
from audit.core.sealing_verify import Verification, verify  # noqa: F401

BATCH = 5000
log = logging.getLogger("audit.sealing")  # the logger name operators route by: kept through the move (ADR 23)


def make_anchor(from_seq: int, first_seq: int, previous_chain: str, reason: str,
                using: str = "default") -> AuditChainAnchor:
    """Record that links from_seq..first_seq-1 were purged (retention), MACed with the chain key
    (on the purge's connection, `using`)."""
    return AuditChainAnchor.objects.using(using).create(
        from_seq=from_seq, first_seq=first_seq, previous_chain=previous_chain, reason=reason,
        mac=anchor_mac(chain_key(), from_seq, first_seq, previous_chain))


def _head() -> tuple[int, str]:
    """The last link (seq, value): the newest seal, or a purge's anchor past it."""
    seal = AuditSeal.objects.order_by("-seq").values_list("seq", "chain").first() or (0, GENESIS)
    anchor = AuditChainAnchor.objects.order_by("-first_seq").values_list("first_seq", "previous_chain").first()
    if anchor and anchor[0] - 1 > seal[0]:
        return anchor[0] - 1, anchor[1]
    return seal


def _lock() -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK])
        return bool(cur.fetchone()[0])


def _unsealed(limit: int, sweep: bool, highest: int | None) -> dict[int, object]:
    """The first `limit` unsealed entries in id order: id -> the entry's time (its seal's
    `entry_time`, the month partition the seal goes in). Unless `sweep`, only those that can still
    be sealed after the chain's head and verify (ADR 55): the entries past the highest sealed id,
    and late commits dated within LATE_TOLERANCE of the head's entry; these reads touch the newest
    months only, where the sweep's reads the whole trail. `highest`: the highest sealed entry id
    (None when nothing is sealed), read once a batch by the caller."""
    head = None if sweep else AuditSeal.objects.order_by("-seq").values_list("entry_time", flat=True).first()
    if head is None:  # a sweep, or nothing sealed (or left after a purge): every entry is a candidate
        return dict(unsealed_entries().order_by("id").values_list("id", "timestamp")[:limit])
    late, newer = unsealed_since_head(highest, late_cutoff(head))
    found = dict(late.order_by("id").values_list("id", "timestamp")[:limit])  # every id below the newer ones
    if len(found) < limit:
        found.update(newer.order_by("id").values_list("id", "timestamp")[:limit - len(found)])
    return found


class _RunCheckpoints:
    """The checkpoints of one sealing run: the store's newest is read once, when the run first
    has something to seal; each batch then writes the new head before it commits."""

    def __init__(self, head_seq: int):
        self.store = checkpoint_store()
        self.newest = self.store.latest()
        # An empty store is started only by the chain's first seal (nothing before it to cut).
        self.refused = self.newest is None and head_seq > 0
        if self.refused:
            log.error("%s Sealing goes on without checkpoints until then.", CheckpointStoreEmpty(head_seq))
        elif self.newest is not None and self.newest["seq"] > head_seq:
            log.error("The audit checkpoint store's newest checkpoint is at link %s but the chain ends at %s: "
                      "entries were cut. Run `manage.py verify_audit_trail`.", self.newest["seq"], head_seq)

    def write(self, seq: int, chain: str, now) -> None:
        if not self.refused:
            self.newest = self.store.write(checkpoint_record(seq, chain, now))


def seal_pending(batch: int = BATCH, *, sweep: bool = False) -> int:
    """Seal the committed entries not yet in the chain, checkpointing each batch before it
    commits; returns how many were sealed. The minute's run seals every entry that can still
    verify after the head (`_unsealed`); a `sweep` (the hourly catch-up, the command, a purge)
    seals every one, whatever its date."""
    key, sealed, checkpoints = chain_key(), 0, None
    while True:
        with transaction.atomic():
            if not _lock():
                return sealed  # another sealer is at work
            highest = AuditSeal.objects.order_by("-entry_id").values_list("entry_id", flat=True).first()
            times = _unsealed(batch, sweep, highest)
            ids = list(times)
            if not ids:
                return sealed
            seq, previous = _head()
            checkpoints = checkpoints or _RunCheckpoints(seq)
            highest = highest or 0
            digests, now, seals = entry_digests(ids, times), timezone.now(), []
            for entry_id in ids:
                seq += 1
                previous = link(key, seq, entry_id, digests[entry_id], previous)
                seals.append(AuditSeal(seq=seq, entry_id=entry_id, entry_digest=digests[entry_id], chain=previous,
                                       sealed_at=now, late=entry_id < highest, entry_time=times[entry_id]))
            AuditSeal.objects.bulk_create(seals)
            # Before the commit: a store that cannot be written rolls the batch back, so no link
            # is ever committed without a checkpoint at or past it.
            checkpoints.write(seq, previous, now)
            sealed += len(seals)
        if len(ids) < batch:
            return sealed
