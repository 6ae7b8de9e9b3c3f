"""Data items drive disclosure (issue 21, point 1; ADR 28): the item -> field table against the
models, the scoping matrix (rows, tables, exports) with the check re-run on every change of the
scoping items, the data migration that splits address and postcode, and the agreement page in
plain words."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from eligibility.models import Woman
from pause_portal.tenancy.models import Phase
from pause_portal.tenancy.roles import Role
from sharing import data_items
from sharing.agreements import DATA_ITEMS, confirm_agreement, propose_agreement, shown
from sharing.data_items import ALWAYS_SERVED, CHILD_LIVE_VALUES, ITEMS, fields_for
from sharing.delivery_release import ChildValues
from sharing.demo_delivery import agreement_values
from sharing.disclosure import LIVE_FROM_TRUST_RECORD
from sharing.models_delivery import ReleasedChild, ReleasedWoman
from sharing.models_scoping import Agreement, ScopingRelease, ScopingWomanRow
from sharing.release_preview import preview_release
from sharing.scoping_recheck import recheck_for_items
from sharing.scoping_release import (
    COLUMN_LABELS,
    SCOPING_CHILD_SERVED,
    SCOPING_WOMAN_SERVED,
    columns_served_now,
    release_for_scoping,
)
from sharing.scoping_tables import TABLE_NAMES
from sharing.scoping_term import current_agreement
from sharing.views.scoping_release import served_columns_in_words
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.test_scoping_world import Cohort, member

pytestmark = pytest.mark.django_db

FORBIDDEN = {"nhs_number", "trust_person_id", "nhs_number_index", "person_id_index"}


# --- the table against the models -------------------------------------------------------------
def _every_model_field():
    for phase, items in ITEMS.items():
        for item in items.values():
            for model, fields in item.serves.items():
                for name in fields:
                    yield phase, item.code, model, name
        for model, fields in ALWAYS_SERVED[phase].items():
            for name in fields:
                yield phase, "always served", model, name


def test_every_field_an_item_names_exists_on_its_model():
    child_values = {f.name for f in dataclasses.fields(ChildValues)}
    for phase, code, model, name in _every_model_field():
        if model is ReleasedChild and name in CHILD_LIVE_VALUES:
            assert name in child_values, (phase, code, name)  # read live by child_values
            continue
        holder = Woman if model is ReleasedWoman and name in LIVE_FROM_TRUST_RECORD else model
        try:
            holder._meta.get_field(name)
        except FieldDoesNotExist:
            pytest.fail(f"{phase} item {code} names {holder.__name__}.{name}, which does not exist")


def test_no_item_and_nothing_always_served_is_an_nhs_number_or_a_trust_id():
    for phase, code, model, name in _every_model_field():
        assert name not in FORBIDDEN and "nhs" not in name and "person_id" not in name, (phase, code, name)
    for phase in ITEMS:
        everything = fields_for(phase, list(ITEMS[phase]))
        assert not any(FORBIDDEN & fields for fields in everything.values())


def test_every_item_serves_something_but_the_child_scoping_token_which_is_never_listed():
    for phase, items in ITEMS.items():
        for code, item in items.items():
            serves = set().union(*item.serves.values()) if item.serves else set()
            assert bool(serves) == (code != "child_scoping_tokens"), (phase, code)
    assert "never" in ITEMS[Phase.SCOPING]["child_scoping_tokens"].note


def test_address_and_postcode_are_two_items_and_the_check_reads_the_same_vocabulary():
    assert fields_for(Phase.DELIVERY, ["postcode"])[ReleasedWoman] - ALWAYS_SERVED[Phase.DELIVERY][ReleasedWoman] \
        == {"postcode"}
    assert fields_for(Phase.DELIVERY, ["contact_address"])[ReleasedWoman] - ALWAYS_SERVED[Phase.DELIVERY][
        ReleasedWoman] == {"address"}
    assert data_items.known(Phase.DELIVERY, ["address_postcode"]) == ["postcode", "contact_address"]
    woman_fields = set().union(*(i.serves.get(ScopingWomanRow, set()) for i in ITEMS[Phase.SCOPING].values()))
    assert set(SCOPING_WOMAN_SERVED) == woman_fields
    assert set(SCOPING_CHILD_SERVED) == {"year_band", "outcome"}
    assert DATA_ITEMS == {phase: {c: i.label for c, i in items.items()} for phase, items in ITEMS.items()}


# --- the scoping matrix ------------------------------------------------------------------------
TABLES_NEED = {"removals": {"children_removed", "age_band"},
               "first-removal-age": {"age_at_first_removal", "children_removed"},
               "outcomes": {"child_year_band", "child_outcome"}}
TABLE_TITLES = {"removals": "Women by number of children removed and age band",
                "first-removal-age": "Women by age band at first removal and number of children removed",
                "outcomes": "Children removed by outcome and removal years"}
COLUMN_OF = {code: next(iter(item.serves[ScopingWomanRow])) for code, item in ITEMS[Phase.SCOPING].items()
             if ScopingWomanRow in item.serves and "token" not in item.serves[ScopingWomanRow]}
SCOPING = list(ITEMS[Phase.SCOPING])


def header(label: str) -> str:
    return f'<th scope="col" class="govuk-table__header">{label}</th>'


def agree(programme, lead, guardian, items: list[str]) -> Agreement:
    values = agreement_values(programme, today=timezone.localdate())
    values["data_items"] = {**values["data_items"], "scoping": list(items)}
    proposed = propose_agreement(programme=programme, by=lead, values=values,
                                 change_reason=f"Scoping items now: {', '.join(items)}")
    return confirm_agreement(agreement=proposed, by=guardian, justification="Within the agreed purpose")


@pytest.fixture
def scoping(programme):
    lead, guardian = member(programme, Role.TRUST_LEAD), member(programme, Role.CALDICOTT_GUARDIAN)
    f.AgreementFactory(programme=programme, proposed_by=lead, decided_by=guardian)
    cohort = Cohort(programme, lead)
    today = timezone.localdate()
    women = [cohort.woman(born=date(1991, 2, 1) + timedelta(days=3 * i), ethnicity="WBRI",
                          removals=[today - timedelta(days=400), today - timedelta(days=90)]) for i in range(7)]
    release_for_scoping(programme, women, by=lead)
    return programme, lead, guardian, sign_in_verified(Client(), member(programme, Role.PAUSE_LEAD))


def scoping_pages(client) -> dict[str, tuple[int, str]]:
    out = {"rows": client.get(reverse("scoping:rows")), "tables": client.get(reverse("scoping:tables"))}
    for name in TABLE_NAMES:
        out[f"export {name}"] = client.post(reverse("scoping:export"), {"table": name})
    return {k: (r.status_code, r.content.decode()) for k, r in out.items()}


def test_every_scoping_item_is_shown_when_agreed(scoping):
    programme, lead, guardian, client = scoping
    agree(programme, lead, guardian, SCOPING)
    pages = scoping_pages(client)
    rows = pages["rows"][1]
    assert all(header(COLUMN_LABELS[c]) in rows for c in COLUMN_OF.values()) and header("Token") in rows
    tokens = set(ScopingWomanRow.objects.filter(programme=programme, withheld=False).values_list("token", flat=True))
    assert tokens and all(t in rows for t in tokens)
    assert all(title in pages["tables"][1] for title in TABLE_TITLES.values())
    assert all(pages[f"export {n}"][0] == 200 for n in TABLE_NAMES)


@pytest.mark.parametrize("item", SCOPING)
def test_a_scoping_item_left_out_never_appears_and_comes_back_after_the_check_reruns(scoping, item):
    programme, lead, guardian, client = scoping
    tokens = set(ScopingWomanRow.objects.filter(programme=programme).values_list("token", flat=True))
    agree(programme, lead, guardian, [i for i in SCOPING if i != item])
    pages = scoping_pages(client)  # the very next request
    rows = pages["rows"][1]
    column = COLUMN_OF.get(item)
    if column:
        assert header(COLUMN_LABELS[column]) not in rows
        # the re-run check stored nothing in the column: nothing there to serve
        assert set(ScopingWomanRow.objects.filter(programme=programme).values_list(column, flat=True)) == {""}
    if item == "scoping_tokens":
        assert header("Token") not in rows
        assert not any(t in body for t in tokens for _, body in pages.values())
    for name, needs in TABLES_NEED.items():
        needs_item = item in needs or (column and column in needs)
        if needs_item:
            assert TABLE_TITLES[name] not in pages["tables"][1]
            assert pages[f"export {name}"][0] == 404
        else:
            assert TABLE_TITLES[name] in pages["tables"][1] and pages[f"export {name}"][0] == 200
    for _, body in pages.values():  # children are never listed, whatever the items
        assert "Child scoping" not in body

    agree(programme, lead, guardian, SCOPING)  # put back, confirmed: the check re-runs with it
    again = scoping_pages(client)
    if column:
        assert header(COLUMN_LABELS[column]) in again["rows"][1]
    if item == "scoping_tokens":
        assert header("Token") in again["rows"][1]
    assert all(title in again["tables"][1] for title in TABLE_TITLES.values())
    assert all(again[f"export {n}"][0] == 200 for n in TABLE_NAMES)


def test_a_change_of_scoping_items_reruns_the_check_before_anything_new_is_served(scoping):
    programme, lead, guardian, client = scoping
    version = agree(programme, lead, guardian, [i for i in SCOPING if i != "age_band"]).version
    release = ScopingRelease.objects.get(programme=programme)
    recheck = release.report["rechecks"][-1]
    assert recheck["why"] == f"re-checked over the scoping data items of agreement version {version}"
    assert "age_band" not in recheck["columns"] and recheck["levels"]["age_band"] == 3  # held suppressed
    assert AuditEntry.objects.filter(event=Event.CHANGE, actor=guardian,
                                     reason__startswith=f"scoping snapshot re-checked over the scoping data items "
                                                        f"of agreement version {version}").exists()

    # A version that puts the item back but reaches the database without the check re-running
    # (written directly here) serves nothing new: the column is not in the latest check.
    f.AgreementFactory(programme=programme, proposed_by=lead, decided_by=guardian)
    assert "age_band" in data_items.agreed_items(programme, Phase.SCOPING)
    assert "age_band" not in columns_served_now(programme)
    assert header("Age band") not in client.get(reverse("scoping:rows")).content.decode()
    recheck_for_items(programme, version=current_agreement(programme).version, served_before=())
    assert "age_band" in columns_served_now(programme)
    assert header("Age band") in client.get(reverse("scoping:rows")).content.decode()


def test_a_version_that_leaves_the_scoping_items_as_they_were_runs_no_check(scoping):
    programme, lead, guardian, _ = scoping
    before = len(ScopingRelease.objects.get(programme=programme).report.get("rechecks") or [])
    agree(programme, lead, guardian, SCOPING)  # the factory's version agreed every item already
    assert len(ScopingRelease.objects.get(programme=programme).report.get("rechecks") or []) == before


# --- the data migration ------------------------------------------------------------------------
def test_the_migration_splits_the_old_address_and_postcode_item_into_both(programme):
    migration = import_module("sharing.migrations.0012_data_items_address_and_postcode_apart")
    old = f.AgreementFactory(programme=programme, data_items={
        "scoping": ["age_band"], "delivery": ["name", "address_postcode", "trust_contact"]})
    untouched = f.AgreementFactory(programme=programme, data_items={"scoping": ["age_band"], "delivery": ["name"]})
    migration.split(apps, None)
    old.refresh_from_db()
    untouched.refresh_from_db()
    assert old.data_items["delivery"] == ["name", "postcode", "contact_address", "trust_contact"]
    assert untouched.data_items["delivery"] == ["name"]
    assert AuditEntry.objects.filter(event=Event.CHANGE, object_id=str(old.pk),
                                     reason__contains="is now the two items 'postcode' and 'contact address'").exists()
    migration.join(apps, None)
    old.refresh_from_db()
    assert old.data_items["delivery"] == ["name", "address_postcode", "trust_contact"]


# --- the agreement page ------------------------------------------------------------------------
def test_the_agreement_page_shows_the_items_in_plain_words(programme):
    lead, guardian = member(programme, Role.TRUST_LEAD), member(programme, Role.CALDICOTT_GUARDIAN)
    f.AgreementFactory(programme=programme, proposed_by=lead, decided_by=guardian,
                       data_items={"scoping": ["age_band", "child_outcome"],
                                   "delivery": ["name", "address_postcode", "child_removal_year"]})
    page = sign_in_verified(Client(), lead).get(reverse("governance:agreement")).content.decode()
    for words in ("Her age, in bands", "What happened to each child (counted in tables only)", "Her name",
                  "Her postcode", "The address Pause should contact her at", "The year each child was removed"):
        assert words in page
    for code in ("age_band", "child_outcome", "address_postcode", "child_removal_year"):
        assert code not in page
    assert shown("data_items", {"delivery": ["address_postcode"]})[1] == (
        "Delivery: Her postcode; The address Pause should contact her at")


def test_the_trust_leads_preview_shows_what_pause_would_see_under_the_items(scoping):
    programme, lead, guardian, _ = scoping
    agree(programme, lead, guardian, [i for i in SCOPING if i not in ("age_band", "child_outcome")])
    today = timezone.localdate()
    extra = Cohort(programme, lead).woman(born=date(1991, 3, 1), ethnicity="WBRI",
                                          removals=[today - timedelta(days=400), today - timedelta(days=90)])
    preview = preview_release(programme, [extra], by=lead)
    assert [c for c, _ in preview.columns] == [c for c in COLUMN_OF.values() if c != "age_band"]
    assert [t.name for t in preview.tables] == ["first-removal-age"]
    assert "age band" not in served_columns_in_words(programme) and "ethnic group" in served_columns_in_words(programme)
