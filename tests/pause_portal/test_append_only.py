"""One append-only guard (pause_portal.append_only): every model that keeps history refuses, in the
ORM, a bulk update or delete, an instance's delete and the save of an existing row, each with its
model's own error type and message; and no other queryset or model redefines such a guard."""

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import models

from pause_portal.append_only import AppendOnlyModel, AppendOnlyQuerySet

EXPECTED = {
    "audit.AuditEntry", "audit.AuditSubject", "audit.AuditSeal", "audit.AuditChainAnchor", "audit.ReviewSearch",
    "eligibility.RuleSet", "eligibility.EvaluationRun", "eligibility.Evaluation", "eligibility.Decision",
    "eligibility.ReReview", "eligibility.KeptDecision",
}
# The messages the guards gave before they were one (tests and callers rely on them).
MESSAGES = {
    "audit.AuditEntry": (PermissionDenied, "Audit entries are append-only: they cannot be updated.",
                         "Audit entries are append-only: they cannot be deleted.",
                         "Audit entries are append-only: they cannot be updated.",
                         "Audit entries are append-only: they cannot be deleted."),
    "audit.ReviewSearch": (PermissionDenied, "Review records are append-only: they cannot be updated.",
                           "Review records are append-only: they cannot be deleted.",
                           "Review records are append-only.",
                           "Review records are append-only: they cannot be deleted."),
    "audit.AuditSubject": (PermissionDenied, "Audit entries are append-only: they cannot be updated.",
                           "Audit entries are append-only: they cannot be deleted.",
                           "Audit subjects are append-only.",
                           "Audit entries are append-only: they cannot be deleted."),
    "eligibility.Decision": (PermissionError, "decisions are history: they are never updated.",
                             "decisions are history: they are never deleted.",
                             "A decision is history: it is never changed.",
                             "A decision is history: it is never deleted."),
}


def _append_only_models():
    return [m for m in apps.get_models() if isinstance(m._default_manager.all(), AppendOnlyQuerySet)]


def test_the_history_models_are_the_ones_on_the_base():
    found = {m._meta.label for m in _append_only_models()}
    assert found == EXPECTED
    assert all(issubclass(apps.get_model(label), AppendOnlyModel) for label in EXPECTED)


@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_every_append_only_model_refuses_rewrites(label):
    model = apps.get_model(label)
    error = model.append_only.error
    with pytest.raises(error):
        model.objects.all().update(pk=1)
    with pytest.raises(error):
        model.objects.update()
    with pytest.raises(error):
        model.objects.all().delete()
    with pytest.raises(error):
        model().delete()
    existing = model()
    existing._state.adding = False
    with pytest.raises(error):
        existing.save()
    with pytest.raises(error):
        existing.save(update_fields=[model._meta.pk.name])


@pytest.mark.parametrize("label", sorted(MESSAGES))
def test_the_refusals_keep_their_messages(label):
    model = apps.get_model(label)
    error, update, delete, save, instance_delete = MESSAGES[label]
    assert model.append_only.error is error
    with pytest.raises(error) as raised:
        model.objects.all().update(pk=1)
    assert str(raised.value) == update
    with pytest.raises(error) as raised:
        model.objects.all().delete()
    assert str(raised.value) == delete
    existing = model()
    existing._state.adding = False
    with pytest.raises(error) as raised:
        existing.save()
    assert str(raised.value) == save
    with pytest.raises(error) as raised:
        model().delete()
    assert str(raised.value) == instance_delete


def test_no_other_guard_is_defined():
    """A queryset of ours that redefines update/delete, or a model that redefines delete, would be
    a second guard; only the base does."""
    ours = {"audit", "eligibility", "sharing", "pause_portal", "tenancy", "pseudonymisation"}
    # People are changed (deactivated), only never deleted: a different rule, not history.
    not_history = {"pause_portal.tenancy.models.PersonQuerySet", "pause_portal.tenancy.models.Person"}
    for model in apps.get_models():
        if model._meta.app_label not in ours:
            continue
        for manager in model._meta.managers:
            for klass in type(manager.get_queryset()).__mro__:
                name = f"{klass.__module__}.{klass.__qualname__}"
                if klass in (AppendOnlyQuerySet, models.QuerySet) or klass.__module__.split(".")[0] not in ours:
                    continue
                if name in not_history:
                    continue
                assert not {"update", "delete"} & set(vars(klass)), (model, klass)
        for klass in model.__mro__:
            name = f"{klass.__module__}.{klass.__qualname__}"
            if klass is AppendOnlyModel or klass.__module__.split(".")[0] not in ours or name in not_history:
                continue
            assert "delete" not in vars(klass), (model, klass)
