"""Data classification: every field of every model of ours is declared, in one place per model.

Each model carries `data_classification = {field_name: DataClass.X, ...}` covering its concrete
fields and many-to-many fields. The admin registers only all-SAFE models; the disclosure policy
and audit masking treat everything that is not SAFE as something that never reaches a log.
"""

from __future__ import annotations

from enum import StrEnum

from django.apps import apps
from django.db import models

OUR_APPS = ("pause_portal", "pseudonymisation", "sharing", "eligibility", "audit", "testapp")


class DataClass(StrEnum):
    DIRECT = "direct identifier"
    QUASI = "quasi-identifier"
    SPECIAL = "special category"
    SAFE = "safe"


def field_names(model: type[models.Model]) -> list[str]:
    opts = model._meta
    return [f.name for f in (*opts.concrete_fields, *opts.many_to_many)]


def classification_of(model: type[models.Model]) -> dict[str, DataClass]:
    return dict(getattr(model, "data_classification", {}))


def unclassified_fields(model: type[models.Model]) -> list[str]:
    declared = classification_of(model)
    return [name for name in field_names(model) if name not in declared]


def unknown_declarations(model: type[models.Model]) -> list[str]:
    names = set(field_names(model))
    return [name for name in classification_of(model) if name not in names]


def sensitive_fields(model: type[models.Model]) -> set[str]:
    """Fields whose values must never appear in a log, an admin page or an email."""
    return {name for name, cls in classification_of(model).items() if cls is not DataClass.SAFE}


def is_all_safe(model: type[models.Model]) -> bool:
    return not unclassified_fields(model) and not sensitive_fields(model)


def our_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]
