"""The hash chain's primitives (ADR 14): the key, a link, a purge anchor's MAC, and the
checkpoints of the chain head written outside the database (audit.core.checkpoint_stores).

A link is HMAC-SHA256(key, "seq|entry id|entry digest|previous link"), the first link's previous
being GENESIS; the key is derived from the PORTAL_AUDIT_CHAIN_SECRET master secret, which never
lives in the database, so a chain recomputed without it does not verify.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from audit.core.checkpoint_stores import Summary, checkpoint_dir, checkpoint_store  # noqa: F401  (re-exported)
from audit.core.models import AuditEntry, AuditSeal
from audit.core.sealing_walk import LATE_TOLERANCE, hmac_pads  # noqa: F401  (re-exported)

GENESIS = "0" * 64
# pg_(try_)advisory_xact_lock key: the sealer holds it while it seals a batch and checkpoints it;
# verification takes it to read the checkpoints, so it never reads one whose links are uncommitted.
ADVISORY_LOCK = 0x5EA1


def chain_key() -> bytes:
    secret = getattr(settings, "PORTAL_SECRETS", {}).get("PORTAL_AUDIT_CHAIN_SECRET")
    if not secret:
        raise ImproperlyConfigured("PORTAL_AUDIT_CHAIN_SECRET is not configured: the audit trail cannot be sealed.")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pause-portal audit chain").derive(
        secret.encode())


def link(key: bytes, seq: int, entry_id: int, digest: str, previous: str) -> str:
    return hmac.new(key, f"{seq}|{entry_id}|{digest}|{previous}".encode(), "sha256").hexdigest()


def anchor_mac(key: bytes, from_seq: int, first_seq: int, previous_chain: str) -> str:
    return hmac.new(key, f"anchor|{from_seq}|{first_seq}|{previous_chain}".encode(), "sha256").hexdigest()


def unsealed_entries() -> QuerySet:
    """Every entry not in the chain: a read of the whole trail (the sweep, verification's count)."""
    # NOT EXISTS, not NOT IN: PostgreSQL plans NOT IN over a subquery as a hashed subplan only while
    # the seal ids fit in work_mem, and otherwise rescans the seals for every entry (quadratic: it
    # never finishes at millions of entries); NOT EXISTS is an anti join at any size.
    return AuditEntry.objects.exclude(Exists(AuditSeal.objects.filter(entry_id=OuterRef("id"))))


def late_cutoff(head_entry_time):
    """The oldest time an entry committed late can carry and still be sealed next, after the
    head's entry: verification refuses an entry dated more than LATE_TOLERANCE before the entry
    ahead of it in the chain (audit.core.sealing_walk), so one dated earlier is no longer "late"
    whenever it is sealed (ADR 55)."""
    return head_entry_time - LATE_TOLERANCE


def unsealed_since_head(highest_entry_id: int, cutoff) -> tuple[QuerySet, QuerySet]:
    """The entries the minute's sealer looks at, in two reads that touch only the trail's newest
    part (ADR 55): those past the highest sealed id (none of which can be sealed, so no anti join),
    and those at or below it dated at or after `cutoff` and not sealed (late commits, from the
    newest month partitions only: the seal's month is the entry's)."""
    newer = AuditEntry.objects.filter(id__gt=highest_entry_id)
    late = AuditEntry.objects.filter(id__lte=highest_entry_id, timestamp__gte=cutoff).exclude(Exists(
        AuditSeal.objects.filter(entry_id=OuterRef("id"), entry_time__gte=cutoff)))
    return late, newer


# --- checkpoints (audit.core.checkpoint_stores: a write-once folder or a database of their own) ---
def checkpoint_record(seq: int, chain: str, written_at) -> dict:
    return {"seq": seq, "chain": chain, "written_at": written_at.isoformat()}


class CheckpointStoreEmpty(RuntimeError):
    """The store holds no checkpoint although the chain already has links: it was emptied,
    replaced, or never written (links sealed before checkpoints were written per run). Nothing
    starts it again on its own: that would hide whatever was cut before."""

    def __init__(self, head_seq: int):
        self.head_seq = head_seq
        super().__init__(
            f"The audit checkpoint store holds no checkpoint, yet the chain has links up to {head_seq}: it was "
            "emptied, replaced or never written. Run `manage.py verify_audit_trail`, find out why, then start the "
            "store again with `manage.py seal_audit_trail --checkpoint`.")


def write_checkpoint(*, start_empty_store: bool = False) -> dict | None:
    """Write the chain head (seq, link, time) to the configured checkpoint store unless the
    store's newest checkpoint is already at it (that one is returned); None when nothing is
    sealed yet. The sealer checkpoints every run itself (`audit.core.sealing.seal_pending`): this is
    the hourly catch-up after a run whose checkpoint could not be written, and how an operator
    starts an emptied or new store again (`seal_audit_trail --checkpoint`, the only caller
    passing `start_empty_store`); otherwise an empty store beside a chain raises
    CheckpointStoreEmpty."""
    head = AuditSeal.objects.order_by("-seq").values_list("seq", "chain").first()
    if head is None:
        return None
    store = checkpoint_store()
    newest = store.latest()
    if newest is None and not start_empty_store:
        raise CheckpointStoreEmpty(head[0])
    if newest is not None and newest["seq"] == head[0]:
        return newest
    return store.write(checkpoint_record(head[0], head[1], timezone.now()))


def read_checkpoints() -> list[dict]:
    """Every checkpoint in the configured store, in seq order."""
    return checkpoint_store().read()
