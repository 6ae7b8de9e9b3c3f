"""Issue 17, finding 6: a trail emptied or cut at its end no longer verifies when nobody has run a
checkpoint by hand. The sealer checkpoints every run that seals something, the first seal
included, before the run's links commit; verification fails on an empty store beside a chain
(or purge anchors), and on checkpoints beside an emptied trail. The folder store keeps one
write-once file per run under a folder per day, and verification compares each day's newest.

Tampering is done as a superuser would (`raw`: triggers off, on PostgreSQL)."""

from __future__ import annotations

import json
import logging
import os
import stat
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.core import sealing
from audit.core.checkpoint_stores import DatabaseStore, FolderStore, checkpoint_store
from audit.core.models import AuditEntry, AuditSeal
from tests.audit.core.test_sealing import entries, raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def store_dir(settings, tmp_path):
    settings.PORTAL_AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    return tmp_path / "checkpoints"


def files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.json"))


def cut_links_after(seq: int) -> None:
    """Delete every link past `seq` with its entry and subjects, as a superuser would."""
    for seal_seq, entry_id in AuditSeal.objects.filter(seq__gt=seq).values_list("seq", "entry_id"):
        raw("DELETE FROM audit_auditseal WHERE seq = %s", [seal_seq])
        raw("DELETE FROM audit_auditsubject WHERE entry_id = %s", [entry_id])
        raw("DELETE FROM audit_auditentry WHERE id = %s", [entry_id])


def empty_the_trail() -> None:
    raw("DELETE FROM audit_auditseal")
    raw("DELETE FROM audit_auditsubject")
    raw("DELETE FROM audit_auditentry")


def verify_fails() -> str:
    with pytest.raises(CommandError, match="does not verify") as failed:
        call_command("verify_audit_trail")
    return str(failed.value)


# --- the finding: no manual checkpoint anywhere below ----------------------------------------
def test_an_emptied_trail_does_not_verify_without_any_manual_checkpoint(programme, store_dir):
    entries(4, programme)
    assert sealing.seal_pending() >= 4  # the beat's run: nothing else
    empty_the_trail()
    assert not AuditEntry.objects.exists() and not AuditSeal.objects.exists()
    message = verify_fails()
    assert "the trail has no links left: it was emptied" in message


def test_a_cut_tail_is_found_without_any_manual_checkpoint(programme, store_dir):
    entries(3, programme)
    sealing.seal_pending()
    entries(3, programme)
    sealing.seal_pending()  # a second run
    head = AuditSeal.objects.count()
    cut_links_after(head - 2)  # the last two entries of the second run
    message = verify_fails()
    assert f"checkpoint at link {head}" in message and f"chain ends at {head - 2}" in message


def test_what_is_cut_before_the_next_run_is_the_tail_not_yet_sealed(programme, store_dir):
    """The bound the design claims: a cut tail goes unnoticed only while it is unsealed."""
    entries(3, programme)
    sealing.seal_pending()
    sealed = AuditSeal.objects.count()
    late = entries(2, programme)  # written, not yet sealed: within the sealing interval
    for e in late:
        raw("DELETE FROM audit_auditentry WHERE id = %s", [e.pk])
    assert sealing.verify().ok  # nothing sealed was lost: this is the interval's blind spot
    entries(1, programme)
    sealing.seal_pending()
    cut_links_after(sealed)
    assert not sealing.verify().ok


# --- when the sealer writes ------------------------------------------------------------------
def test_the_first_seal_and_every_run_that_sealed_something_write_a_checkpoint(programme, store_dir):
    entries(2, programme)
    assert files(store_dir) == []
    sealing.seal_pending()
    first = AuditSeal.objects.count()
    day = timezone.now().date().isoformat()
    assert files(store_dir) == [f"{day}/{first:015d}.json"]
    assert sealing.seal_pending() == 0
    assert len(files(store_dir)) == 1  # a run that sealed nothing writes nothing
    entries(1, programme)
    sealing.seal_pending()
    second = AuditSeal.objects.count()
    assert files(store_dir) == [f"{day}/{first:015d}.json", f"{day}/{second:015d}.json"]
    newest = json.loads((store_dir / day / f"{second:015d}.json").read_text())
    assert newest["chain"] == AuditSeal.objects.get(seq=second).chain
    assert not os.stat(store_dir / day / f"{second:015d}.json").st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    # the hourly catch-up finds the head checkpointed and writes nothing more
    assert sealing.write_checkpoint() == newest and len(files(store_dir)) == 2


def test_each_batch_is_checkpointed_before_it_commits(programme, store_dir):
    entries(5, programme)
    pending = AuditEntry.objects.count()
    assert sealing.seal_pending(batch=2) == pending
    assert [int(name[-20:-5]) for name in files(store_dir)] == list(range(2, pending, 2)) + [pending]


def test_a_store_that_cannot_be_written_leaves_the_batch_unsealed(programme, settings, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder should be")
    settings.PORTAL_AUDIT_CHECKPOINT_DIR = str(blocked)
    entries(2, programme)
    with pytest.raises(OSError):
        sealing.seal_pending()
    assert not AuditSeal.objects.exists()  # rolled back: sealed next minute, with its checkpoint


# --- verification's new refusals ----------------------------------------------------------
def test_an_emptied_store_beside_a_chain_does_not_verify_and_the_sealer_does_not_start_it_again(
        programme, store_dir, caplog):
    entries(2, programme)
    sealing.seal_pending()
    for path in store_dir.rglob("*.json"):  # the store emptied (a write-once store would not allow it)
        path.chmod(0o644)
        path.unlink()
    assert "the checkpoint store holds no checkpoint, yet the chain has links" in verify_fails()
    entries(1, programme)
    with caplog.at_level(logging.ERROR, logger="audit.sealing"):
        assert sealing.seal_pending() >= 1  # sealing goes on ...
    assert files(store_dir) == []  # ... but the store is not started again behind anyone's back
    assert "holds no checkpoint" in caplog.text
    with pytest.raises(sealing.CheckpointStoreEmpty):
        sealing.write_checkpoint()  # nor by the hourly catch-up
    verify_fails()
    # an operator starts it again, and is told what that means
    call_command("seal_audit_trail", "--checkpoint")
    assert len(files(store_dir)) == 1
    call_command("verify_audit_trail")


def test_the_operator_is_told_when_the_command_starts_an_empty_store(programme, store_dir, capsys):
    entries(2, programme)
    sealing.seal_pending()
    for path in store_dir.rglob("*.json"):
        path.chmod(0o644)
        path.unlink()
    call_command("seal_audit_trail", "--checkpoint")
    assert "was empty although the chain already had links" in capsys.readouterr().err


def test_an_empty_store_beside_purge_anchors_alone_does_not_verify(store_dir):
    sealing.make_anchor(1, 4, "a" * 64, "retention purge")  # every link purged, none since
    assert "holds no checkpoint" in verify_fails()


def test_an_empty_trail_and_an_empty_store_verify(store_dir):
    """A new deployment: nothing to compare, nothing missing."""
    assert not AuditEntry.objects.exists()
    call_command("verify_audit_trail")


# --- the layout that bears the volume ---------------------------------------------------------
def test_verification_compares_each_days_newest_checkpoint(programme, store_dir, capsys):
    start = (timezone.now() + timedelta(days=1)).replace(hour=12, minute=0)  # ahead: no entry goes back in time
    for day, runs in ((0, 2), (1, 2), (2, 1)):  # five runs over three days
        for run in range(runs):
            with time_machine.travel(start + timedelta(days=day, minutes=run), tick=False):
                entries(1, programme)
                sealing.seal_pending()
    folders = sorted({name.split("/")[0] for name in files(store_dir)})
    assert len(folders) == 3 and len(files(store_dir)) == 5
    summary = checkpoint_store().summary()
    assert summary.count == 5 and [c["seq"] for c in summary.daily] == [
        max(int(n[-20:-5]) for n in files(store_dir) if n.startswith(folder)) for folder in folders]
    result = sealing.verify()
    assert result.ok and result.checkpoints == 5 and result.compared == 3
    call_command("verify_audit_trail")
    assert "against 5 checkpoints (each day's newest compared: 3)" in capsys.readouterr().out
    # a rewrite anywhere before a day's newest shows against it
    first = AuditSeal.objects.order_by("seq").first()
    raw("UPDATE audit_auditseal SET chain = %s WHERE seq = %s", ["f" * 64, first.seq])
    assert not sealing.verify().ok


def test_checkpoints_from_before_day_folders_are_still_read(programme, store_dir):
    entries(2, programme)
    sealing.seal_pending()
    head = AuditSeal.objects.order_by("-seq").first()
    store_dir.mkdir(exist_ok=True)
    old = store_dir / f"{head.seq + 5:015d}.json"  # a flat file, as the hourly checkpoints were written
    old.write_text(json.dumps({"seq": head.seq + 5, "chain": "0" * 64, "written_at": "2026-01-01T00:00:00+00:00"}))
    store = FolderStore(store_dir)
    assert store.latest()["seq"] == head.seq + 5
    assert [c["seq"] for c in store.read()] == [head.seq, head.seq + 5]
    assert f"checkpoint at link {head.seq + 5}" in verify_fails()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_database_store_answers_latest_and_each_days_newest(backend, tmp_path):
    if backend == "sqlite":
        store = DatabaseStore(f"sqlite:///{tmp_path / 'c.db'}")
    else:
        from tests.audit.core.test_checkpoint_stores import _fresh_pg_database

        store = DatabaseStore(_fresh_pg_database())
    assert store.latest() is None and store.summary() == (0, [])
    rows = [(1, "2026-01-01T09:00:00+00:00"), (2, "2026-01-01T23:59:00+00:00"), (3, "2026-01-02T00:01:00+00:00"),
            (4, "2026-01-02T10:00:00+00:00"), (5, "2026-01-04T10:00:00+00:00")]
    for seq, written_at in rows:
        store.write({"seq": seq, "chain": str(seq) * 64, "written_at": written_at})
    assert store.latest()["seq"] == 5
    count, daily = store.summary()
    assert count == 5 and [c["seq"] for c in daily] == [2, 4, 5]
    if backend == "postgres":
        import psycopg

        with psycopg.connect(store.url, autocommit=True) as conn:
            conn.execute("DROP TABLE audit_checkpoint")


def test_the_hourly_catch_up_writes_a_head_a_run_could_not_checkpoint(programme, store_dir):
    entries(2, programme)
    sealing.seal_pending()
    first = files(store_dir)
    entries(1, programme)
    sealing.seal_pending()
    missed = sorted(set(files(store_dir)) - set(first))[0]
    (store_dir / missed).chmod(0o644)
    (store_dir / missed).unlink()  # as if that run's checkpoint had never been written
    head = sealing.write_checkpoint()
    assert head["seq"] == AuditSeal.objects.count() and files(store_dir) == sorted(first + [missed])


def test_with_a_days_newest_checkpoints_removed_the_newest_left_is_compared(programme, store_dir):
    entries(2, programme)
    sealing.seal_pending()
    middle = AuditSeal.objects.count()
    entries(2, programme)
    sealing.seal_pending()
    for name in files(store_dir)[1:]:  # the store's newest gone (a store that was not write-once)
        (store_dir / name).chmod(0o644)
        (store_dir / name).unlink()
    cut_links_after(middle - 1)
    assert f"checkpoint at link {middle}" in verify_fails()
