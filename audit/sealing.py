"""The audit trail's tamper evidence: a keyed hash chain over the committed entries, sealed in the
background, checkpointed outside the database, and verified end to end (issue 8, point 1).

- `seal_pending()` (Celery beat every minute; `manage.py seal_audit_trail`): every committed entry
  not yet sealed gets the next link, in id order among those it finds — so writers never wait on
  the chain, and an entry whose transaction commits after a higher id was sealed is sealed when
  it appears (marked `late`), never skipped. Two sealers never interleave (an advisory lock on
  PostgreSQL; SQLite serialises writers anyway).
- A link is HMAC-SHA256(key, "seq|entry id|entry digest|previous link"); the key is derived from
  the PORTAL_AUDIT_CHAIN_SECRET master secret, so a chain recomputed without it does not verify.
  The entry digest is SHA-256 over the entry's canonical JSON (every column and its subjects).
- `write_checkpoint()` (hourly; `seal_audit_trail --checkpoint`) writes the chain head to a
  write-once folder outside the database (settings.PORTAL_AUDIT_CHECKPOINT_DIR): one file per
  checkpoint, created exclusively, made read-only.
- `verify()` (`manage.py verify_audit_trail`) recomputes every link from the anchor, compares each
  checkpoint, and reports the first broken link: a modified, deleted, inserted or reordered entry,
  a chain recomputed without the key, or entries cut after a checkpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from audit.models import AuditChainAnchor, AuditEntry, AuditSeal, AuditSubject

GENESIS = "0" * 64
BATCH = 5000
ADVISORY_LOCK = 0x5EA1  # pg_try_advisory_xact_lock key for the sealer
# An entry may be dated before the link sealed ahead of it by at most this much (the longest
# transaction we expect: it is stamped when written, sealed once committed); more than that and
# it was inserted afterwards, not committed late.
LATE_TOLERANCE = timedelta(minutes=15)
ENTRY_COLUMNS = (
    "id", "content_type_id", "object_pk", "object_id", "object_repr", "serialized_data", "action", "changes_text",
    "changes", "actor_id", "cid", "remote_addr", "remote_port", "timestamp", "additional_data", "actor_email",
    "event", "role", "organisation_id", "programme_id", "phase", "request_id", "page", "status_code", "reason",
    "subject_count",
)


def chain_key() -> bytes:
    secret = getattr(settings, "PORTAL_SECRETS", {}).get("PORTAL_AUDIT_CHAIN_SECRET")
    if not secret:
        raise ImproperlyConfigured("PORTAL_AUDIT_CHAIN_SECRET is not configured: the audit trail cannot be sealed.")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pause-portal audit chain").derive(
        secret.encode())


def _canonical(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def entry_digests(ids: list[int], *, with_times: bool = False) -> dict:
    """SHA-256 of each entry's canonical content (its columns and sorted subjects), by id — or
    (digest, timestamp) pairs with `with_times`; an id with no entry is absent."""
    subjects: dict[int, list[str]] = {}
    for entry_id, subject in AuditSubject.objects.filter(entry_id__in=ids).values_list("entry_id", "subject"):
        subjects.setdefault(entry_id, []).append(subject)
    out = {}
    for row in AuditEntry.objects.filter(id__in=ids).values_list(*ENTRY_COLUMNS):
        record = {name: _canonical(v) for name, v in zip(ENTRY_COLUMNS, row, strict=True)}
        record["subjects"] = sorted(subjects.get(row[0], []))
        text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()
        out[row[0]] = (digest, row[ENTRY_COLUMNS.index("timestamp")]) if with_times else digest
    return out


def link(key: bytes, seq: int, entry_id: int, digest: str, previous: str) -> str:
    return hmac.new(key, f"{seq}|{entry_id}|{digest}|{previous}".encode(), "sha256").hexdigest()


def anchor_mac(key: bytes, from_seq: int, first_seq: int, previous_chain: str) -> str:
    return hmac.new(key, f"anchor|{from_seq}|{first_seq}|{previous_chain}".encode(), "sha256").hexdigest()


def make_anchor(from_seq: int, first_seq: int, previous_chain: str, reason: str) -> AuditChainAnchor:
    """Record that links from_seq..first_seq-1 were purged (retention), MACed with the chain key."""
    return AuditChainAnchor.objects.create(
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


def _unsealed() -> QuerySet:
    # NOT EXISTS, not NOT IN: PostgreSQL plans NOT IN over a subquery as a hashed subplan only while
    # the seal ids fit in work_mem, and otherwise rescans the seals for every entry (quadratic: it
    # never finishes at millions of entries); NOT EXISTS is an anti join at any size.
    return AuditEntry.objects.exclude(Exists(AuditSeal.objects.filter(entry_id=OuterRef("id"))))


def _unsealed_ids(limit: int) -> list[int]:
    return list(
        _unsealed().order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def seal_pending(batch: int = BATCH) -> int:
    """Seal every committed entry not yet in the chain; returns how many were sealed."""
    key, sealed = chain_key(), 0
    while True:
        with transaction.atomic():
            if not _lock():
                return sealed  # another sealer is at work
            ids = _unsealed_ids(batch)
            if not ids:
                return sealed
            seq, previous = _head()
            highest = AuditSeal.objects.order_by("-entry_id").values_list("entry_id", flat=True).first() or 0
            digests, now, seals = entry_digests(ids), timezone.now(), []
            for entry_id in ids:
                seq += 1
                previous = link(key, seq, entry_id, digests[entry_id], previous)
                seals.append(AuditSeal(seq=seq, entry_id=entry_id, entry_digest=digests[entry_id], chain=previous,
                                       sealed_at=now, late=entry_id < highest))
            AuditSeal.objects.bulk_create(seals)
            sealed += len(seals)
        if len(ids) < batch:
            return sealed


# --- checkpoints ---------------------------------------------------------------------------
def checkpoint_dir() -> Path:
    """settings.PORTAL_AUDIT_CHECKPOINT_DIR, else the environment variable of that name: a folder
    on storage the database's administrators cannot rewrite (a write-once mount in production)."""
    folder = getattr(settings, "PORTAL_AUDIT_CHECKPOINT_DIR", None) or os.environ.get("PORTAL_AUDIT_CHECKPOINT_DIR")
    if not folder:
        raise ImproperlyConfigured("PORTAL_AUDIT_CHECKPOINT_DIR is not set: the chain head has nowhere to go.")
    return Path(folder)


def write_checkpoint() -> dict | None:
    """Write the chain head (seq, link, time) to a new read-only file in the checkpoint folder;
    None when nothing is sealed yet."""
    head = AuditSeal.objects.order_by("-seq").values_list("seq", "chain").first()
    if head is None:
        return None
    folder = checkpoint_dir()
    folder.mkdir(parents=True, exist_ok=True)
    record = {"seq": head[0], "chain": head[1], "written_at": timezone.now().isoformat()}
    path = folder / f"{head[0]:015d}.json"
    if path.exists():
        return json.loads(path.read_text())  # already checkpointed at this head
    with open(path, "x", encoding="utf-8") as handle:  # never overwrite
        json.dump(record, handle)
    os.chmod(path, 0o444)
    return record


def read_checkpoints() -> list[dict]:
    folder = checkpoint_dir()
    if not folder.exists():
        return []
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


# --- verification --------------------------------------------------------------------------
@dataclass
class Verification:
    links: int = 0
    first_seq: int = 1
    last_seq: int = 0
    checkpoints: int = 0
    unsealed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(batch: int = BATCH) -> Verification:
    """Recompute the chain from its anchor and check the checkpoints. Stops at the first broken
    link (everything after it is suspect) and says what it found there."""
    key, result = chain_key(), Verification()
    gaps = {}  # from_seq -> (first_seq after the gap, the link before it): purged runs, MAC checked
    for a in AuditChainAnchor.objects.order_by("from_seq"):
        if not hmac.compare_digest(a.mac, anchor_mac(key, a.from_seq, a.first_seq, a.previous_chain)):
            result.problems.append(f"the purge record for links {a.from_seq}-{a.first_seq - 1} is not genuine "
                                   "(its MAC does not match)")
            return result
        gaps[a.from_seq] = (a.first_seq, a.previous_chain)
    expected_seq, previous = 1, GENESIS
    while expected_seq in gaps:
        expected_seq, previous = gaps[expected_seq]
    result.first_seq = expected_seq
    chain_at: dict[int, str] = {}
    wanted = {c["seq"] for c in read_checkpoints()}
    last_sealed_at, last_seq = None, 0
    seals = AuditSeal.objects.filter(seq__gte=expected_seq).order_by("seq").values_list(
        "seq", "entry_id", "entry_digest", "chain", "sealed_at", "late")
    chunk: list[tuple] = []

    def check(rows: list[tuple]) -> bool:
        nonlocal expected_seq, previous, last_sealed_at, last_seq
        found = entry_digests([r[1] for r in rows], with_times=True)
        for seq, entry_id, digest, chain, sealed_at, _late in rows:
            where = f"link {seq} (entry {entry_id})"
            while seq != expected_seq and expected_seq in gaps:  # a run removed by a retention purge
                expected_seq, previous = gaps[expected_seq]
                last_sealed_at = None
            if seq != expected_seq:
                result.problems.append(f"link {expected_seq} is missing: the chain jumps to {seq} "
                                       "(a link was deleted, or links were reordered)")
                return False
            if entry_id not in found:
                result.problems.append(f"{where}: the entry is missing (deleted)")
                return False
            actual, stamped = found[entry_id]
            if actual != digest:
                result.problems.append(f"{where}: the entry's content no longer matches its seal (modified)")
                return False
            if link(key, seq, entry_id, digest, previous) != chain:
                result.problems.append(f"{where}: the link does not follow from the one before (reordered, "
                                       "inserted, or the chain recomputed without the key)")
                return False
            if last_sealed_at is not None and stamped < last_sealed_at - LATE_TOLERANCE:
                result.problems.append(f"{where}: dated {stamped.isoformat()}, well before the link ahead of it "
                                       "was sealed: it was inserted, not committed late")
                return False
            if seq in wanted:
                chain_at[seq] = chain
            previous, expected_seq, last_sealed_at, last_seq = chain, seq + 1, sealed_at, seq
            result.links += 1
        return True

    intact = True
    for row in seals.iterator(chunk_size=batch):
        chunk.append(row)
        if len(chunk) >= batch:
            intact, chunk = check(chunk), []
            if not intact:
                break
    if intact and chunk:
        intact = check(chunk)
    result.last_seq = last_seq
    if intact:
        for checkpoint in read_checkpoints():
            result.checkpoints += 1
            seq = checkpoint["seq"]
            if any(start <= seq < after for start, (after, _) in gaps.items()):
                continue  # in a run a retention purge removed
            if seq > last_seq:
                result.problems.append(f"checkpoint at link {seq} ({checkpoint['written_at']}) but the chain ends "
                                       f"at {last_seq}: entries were cut")
                break
            if chain_at.get(seq) != checkpoint["chain"]:
                result.problems.append(f"checkpoint at link {seq} ({checkpoint['written_at']}) does not match the "
                                       "chain (the chain was rewritten)")
                break
    result.unsealed = _unsealed().count()
    return result
