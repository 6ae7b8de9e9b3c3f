"""What may enter an audit entry about a record: its reference, and its changes with every field
that is not classified safe redacted (django-auditlog's own masking would keep half a value)."""

from __future__ import annotations

from django.db import models

from pause_portal.classification import classification_of, sensitive_fields

REDACTED = "[redacted]"


def subject_reference(instance: models.Model) -> str:
    return f"{instance._meta.label_lower}:{instance.pk}"


def redact_changes(model: type[models.Model], changes: dict) -> dict:
    sensitive = sensitive_fields(model)
    declared = classification_of(model)
    redacted = {}
    for field, value in changes.items():
        if field in sensitive or field not in declared:
            if isinstance(value, dict):  # JSON changes: {"type": ..., ...}
                redacted[field] = {k: (v if k in ("type", "operation") else REDACTED) for k, v in value.items()}
            else:
                redacted[field] = [REDACTED, REDACTED]
        else:
            redacted[field] = value
    return redacted
