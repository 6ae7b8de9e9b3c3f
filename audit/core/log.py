"""The one way the portal writes an audit entry for an event or a disclosure.

One entry per event; a disclosure names every subject it showed (by reference) in the same
transaction as the entry.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditlog.models import AbstractLogEntry
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from audit.core.masking import subject_reference
from audit.core.models import AuditEntry, AuditSubject, Event
from pause_portal import request_context


def record_event(
    event: Event,
    *,
    actor=None,
    subjects: Iterable[models.Model] = (),
    subject_model: type[models.Model] | None = None,
    subject_ids: Iterable[int] = (),
    target: models.Model | None = None,
    programme=None,
    role: str = "",
    reason: str = "",
    status_code: int | None = None,
    page: str | None = None,
    action: int = AbstractLogEntry.Action.ACCESS,
    also_about: Iterable[str] = (),
    using: str = "default",
) -> AuditEntry:
    """Write one entry. `subjects` are the records shown (or, for many, `subject_ids` of
    `subject_model`); `target` the one thing acted on. `using`: the database connection to write it
    on (the audit-trail purge writes its entries on the owner's, inside its own transaction)."""
    ctx = request_context.current()
    subjects = [subject_reference(s) for s in subjects]
    if subject_ids:
        subjects += [f"{subject_model._meta.label_lower}:{pk}" for pk in subject_ids]
    # References of the people the shown records are about, when the records themselves will not
    # outlive them (a scoping row is purged with its key; the woman it was made from stays findable).
    extra = [ref for ref in also_about if ref not in subjects]
    actor_id = getattr(actor, "pk", None) if actor is not None else ctx.actor_id
    if target is not None:
        target = getattr(target, "_wrapped", target)  # request.user is a lazy wrapper
    # The entry's content type is the model of what its object id names: the target's when there
    # is one (never the subjects' model with the target's id, which would name another record).
    if target is not None:
        model = target._meta.model
    else:
        model = subject_model or (_model_of(subjects[0]) if subjects else get_user_model())
    if target is not None:
        object_pk, object_repr = str(target.pk), subject_reference(target)
    elif subjects:
        object_pk, object_repr = "", f"{model._meta.label_lower}: {len(subjects)} shown"
    else:
        object_pk = str(actor_id or "")
        object_repr = f"{get_user_model()._meta.label_lower}:{actor_id}" if actor_id else "anonymous"
    shown_count = len(subjects)
    subjects += extra
    organisation_id = getattr(actor, "organisation_id", None) if actor is not None else None
    entries, subjects_of = AuditEntry.objects.db_manager(using), AuditSubject.objects.db_manager(using)
    with transaction.atomic(using=using):
        entry = entries.create(
            event=event,
            action=action,
            content_type=ContentType.objects.get_for_model(model),
            object_pk=object_pk,
            object_id=int(object_pk) if object_pk.isdigit() else None,
            object_repr=object_repr,
            actor_id=actor_id,
            remote_addr=ctx.remote_addr,
            request_id=ctx.request_id,
            page=page if page is not None else ctx.page,
            organisation_id=organisation_id,
            programme=programme,
            phase=getattr(programme, "phase", "") or "",
            role=role or "",
            reason=reason,
            status_code=status_code,
            subject_count=shown_count,
        )
        if subjects:
            subjects_of.bulk_create(
                (AuditSubject.of(entry, ref) for ref in subjects), batch_size=5000
            )
    return entry


def session_expired(*, by, reason: str) -> AuditEntry:
    """The handler of the kernel's `session_expired` hook (registered by AuditConfig): the entry
    for a session ended at the absolute limit."""
    return record_event(Event.SESSION_EXPIRED, actor=by, reason=reason)


def _model_of(reference: str) -> type[models.Model]:
    return apps.get_model(reference.split(":", 1)[0])
