"""Which of our models django-auditlog tracks for changes. Their entries pass through
AuditEntryManager.log_create, which swaps str(instance) for a reference and redacts every field
not classified safe."""

from __future__ import annotations

from auditlog.registry import auditlog
from django.apps import apps

AUDITED = {
    "sharing.Organisation": [],
    "sharing.Programme": [],
    "sharing.Person": ["password", "last_login"],
    "sharing.Membership": [],
    "sharing.AccountLink": ["token_hash"],
}


def register_audited_models() -> None:
    for label, excluded in AUDITED.items():
        model = apps.get_model(label)
        if not auditlog.contains(model):
            auditlog.register(model, exclude_fields=excluded)
