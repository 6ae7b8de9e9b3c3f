"""Re-encryption after a key rotation: every protected model's rows, in batches, onto the current
key versions. Resumable: progress is kept per model in ReencryptionRun (last primary key done), so
a stopped run carries on where it stopped."""

from __future__ import annotations

from collections.abc import Callable

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from pseudonymisation.fields import ProtectedModel, Protector, blind_index_fields, encrypted_fields
from pseudonymisation.models import Purpose, ReencryptionRun


def protected_models() -> list[type[ProtectedModel]]:
    return [m for m in apps.get_models() if issubclass(m, ProtectedModel)]


def reencrypt_model(
    model: type[ProtectedModel], *, batch_size: int = 500, progress: Callable[[str], None] = lambda _: None,
    stop_after_batches: int | None = None,
) -> int:
    """Re-encrypt one model's rows. Returns the number of rows changed in this call."""
    label = model._meta.label
    run, _ = ReencryptionRun.objects.get_or_create(model_label=label, purpose=Purpose.ENCRYPTION, finished_at=None)
    total = model.objects.count()
    update_fields = [f.attname for f in encrypted_fields(model)] + [f.attname for f in blind_index_fields(model)]
    protectors: dict[int, Protector] = {}
    changed_rows, batches = 0, 0
    while True:
        with transaction.atomic():
            rows = list(model.objects.select_for_update().filter(pk__gt=run.last_pk).order_by("pk")[:batch_size])
            if not rows:
                break
            dirty = []
            for row in rows:
                key = (row.programme_id, row.key_phase)
                protector = protectors.get(key) or protectors.setdefault(key, Protector.load(*key, create=False))
                if row.reencrypt(protector):
                    dirty.append(row)
            if dirty:
                model.objects.bulk_update(dirty, update_fields)
            run.last_pk = rows[-1].pk
            run.rows_done += len(rows)
            run.save(update_fields=["last_pk", "rows_done"])
        changed_rows += len(dirty)
        batches += 1
        progress(f"{label}: {run.rows_done}/{total} rows checked, {changed_rows} re-encrypted in this run")
        if stop_after_batches is not None and batches >= stop_after_batches:
            return changed_rows
    run.finished_at = timezone.now()
    run.save(update_fields=["finished_at"])
    progress(f"{label}: done ({run.rows_done} rows checked)")
    return changed_rows
