"""The data classification drives protection at rest: on every protected model, each field
classified "direct identifier" must be encrypted, each encrypted field must be classified
identifying, and each blind index must read encrypted fields of its own model. And, in the
deployment checks, the key store is a folder this process can write and nobody else can read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from pseudonymisation.fields import (
    BlindIndexField,
    EncryptedField,
    ProtectedModel,
    encrypted_fields,
)

DIRECT = "direct identifier"  # pause_portal.classification.DataClass values (this app is a leaf)
SPECIAL = "special category"


def protection_problems(model) -> list[str]:
    declared = getattr(model, "data_classification", {})
    encrypted = {f.name for f in encrypted_fields(model)}
    problems = []
    for name, cls in declared.items():
        if cls == DIRECT and name not in encrypted:
            problems.append(f"{name} is classified a direct identifier but is not an EncryptedField")
    for name in encrypted:
        if declared.get(name) not in (DIRECT, SPECIAL):
            problems.append(f"{name} is encrypted but classified {declared.get(name)!r}")
    for field in model._meta.concrete_fields:
        if isinstance(field, BlindIndexField):
            if field.kind is None or not field.source:
                problems.append(f"{field.name} needs a source and a kind")
            for source in field.source:
                if source not in encrypted:
                    problems.append(f"{field.name} reads {source}, which is not an EncryptedField of the model")
        if isinstance(field, EncryptedField) and field.name not in declared:
            problems.append(f"{field.name} is not classified")
    return problems


@register()
def check_protected_models(app_configs=None, **kwargs):
    errors = []
    for model in apps.get_models():
        if issubclass(model, ProtectedModel):
            for problem in protection_problems(model):
                errors.append(Error(f"{model._meta.label}: {problem}.", obj=model, id="pseudonymisation.E001"))
    return errors


@register(Tags.security, deploy=True)
def check_key_store(app_configs=None, **kwargs):
    folder = Path(getattr(settings, "PORTAL_KEY_STORE_DIR", "") or "")
    hint = "Mount a writable volume of its own there, owned by the portal's user, mode 700 (docs/deployment.md)."
    if not folder.is_dir():
        return [Warning(f"The key store folder {folder} does not exist.", hint=hint, id="pseudonymisation.W001")]
    if not os.access(folder, os.W_OK | os.X_OK):
        return [Warning(f"The key store folder {folder} is not writable by this process: scope secrets can be "
                        "neither made nor deleted.", hint=hint, id="pseudonymisation.W002")]
    if stat.S_IMODE(folder.stat().st_mode) & 0o077:
        return [Warning(f"The key store folder {folder} is open to other users (mode "
                        f"{stat.S_IMODE(folder.stat().st_mode):o}).", hint=hint, id="pseudonymisation.W003")]
    return []
