"""Every field of every model of ours is classified; the admin lists only all-safe models."""

from django.contrib import admin

from pause_portal.classification import (
    is_all_safe,
    our_models,
    unclassified_fields,
    unknown_declarations,
)


def test_every_field_of_every_model_is_classified():
    problems = {m._meta.label: unclassified_fields(m) for m in our_models() if unclassified_fields(m)}
    assert problems == {}, f"classify these fields in the model's data_classification: {problems}"


def test_no_classification_names_a_field_that_does_not_exist():
    problems = {m._meta.label: unknown_declarations(m) for m in our_models() if unknown_declarations(m)}
    assert problems == {}


def test_our_models_are_all_covered():
    labels = {m._meta.label for m in our_models()}
    assert {"sharing.Person", "sharing.Membership", "audit.AuditEntry", "testapp.CaseRecord"} <= labels


def test_the_admin_registers_only_models_whose_fields_are_all_safe():
    registered = list(admin.site._registry)
    unsafe = [m._meta.label for m in registered if not is_all_safe(m)]
    assert unsafe == []
    labels = {m._meta.label for m in registered}
    assert "sharing.Person" not in labels and "audit.AuditEntry" not in labels


def test_registering_an_unsafe_model_in_the_admin_is_refused():
    import pytest
    from django.core.exceptions import ImproperlyConfigured

    from pause_portal.tenancy.models import Person

    with pytest.raises(ImproperlyConfigured):
        admin.site.register(Person)
