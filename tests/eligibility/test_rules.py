"""Rule sets: the first version from the specification's defaults, versions never changed, the
difference between two versions, who may edit, and the form's messages."""

import pytest
from django.core.exceptions import PermissionDenied

from audit.core.models import AuditEntry, Event
from eligibility.extract import codes
from eligibility.extract.codes import CodeList
from eligibility.forms_rules import RuleSetForm
from eligibility.models import RuleSet
from eligibility.rules import (
    Change,
    current_rule_set,
    default_values,
    edit_rule_set,
    rule_set_difference,
    values_of,
)

pytestmark = pytest.mark.django_db


def test_the_first_version_is_made_from_the_defaults_when_first_needed(programme):
    assert not RuleSet.objects.exists()
    first = current_rule_set(programme)
    assert (first.version, first.created_by, first.based_on) == (1, None, None)
    assert first.eligible_threshold == 2 and first.look_back_years == 10 and first.minimum_age == 16
    assert first.at_risk_signals == ["open_proceedings", "pregnancy"] and first.open_proceedings_codes == ["C1", "L2"]
    for code_list in (CodeList.LEGAL_STATUS, CodeList.EPISODE_CEASED):
        assert first.positions[code_list] == dict(codes.DEFAULT_POSITION[code_list])
    assert current_rule_set(programme) == first and RuleSet.objects.count() == 1


def _edited(programme, **changes):
    values = values_of(current_rule_set(programme))
    values.update(changes)
    return values


def test_an_edit_makes_a_new_version_and_never_changes_the_old_one(programme, trust_lead):
    first = current_rule_set(programme)
    second = edit_rule_set(programme=programme, by=trust_lead, values=_edited(programme, look_back_years=7))
    assert (second.version, second.based_on, second.created_by) == (2, first, trust_lead)
    first.refresh_from_db()
    assert first.look_back_years == 10 and current_rule_set(programme) == second
    entry = AuditEntry.objects.get(event=Event.CHANGE, object_repr__startswith="eligibility.ruleset:")
    assert entry.actor_id == trust_lead.pk and "look-back window" in entry.reason.lower()


def test_an_edit_that_changes_nothing_makes_no_version(programme, trust_lead):
    first = current_rule_set(programme)
    assert edit_rule_set(programme=programme, by=trust_lead, values=_edited(programme)) == first
    assert RuleSet.objects.count() == 1


def test_a_version_cannot_be_changed_or_deleted(programme):
    first = current_rule_set(programme)
    first.minimum_age = 18
    with pytest.raises(PermissionError):
        first.save()
    with pytest.raises(PermissionError):
        RuleSet.objects.filter(pk=first.pk).update(minimum_age=18)
    with pytest.raises(PermissionError):
        RuleSet.objects.filter(pk=first.pk).delete()
    with pytest.raises(PermissionError):
        first.delete()


@pytest.mark.parametrize("who", ["caseworker", "dpo", "pause_lead", "other_programme_person"])
def test_only_a_trust_lead_of_the_programme_edits(programme, actors, who):
    with pytest.raises(PermissionDenied):
        edit_rule_set(programme=programme, by=actors[who], values=_edited(programme, minimum_age=17))
    assert RuleSet.objects.filter(programme=programme).count() == 1


def test_codes_must_each_have_exactly_one_position(programme, trust_lead):
    values = _edited(programme)
    del values["positions"]["legal_status"]["C2"]
    with pytest.raises(ValueError, match="exactly one position"):
        edit_rule_set(programme=programme, by=trust_lead, values=values)
    values = _edited(programme)
    values["positions"]["legal_status"]["J1"] = "counted"
    with pytest.raises(ValueError, match="Youth-justice"):
        edit_rule_set(programme=programme, by=trust_lead, values=values)


def test_the_difference_between_two_versions(programme, trust_lead):
    first = current_rule_set(programme)
    values = _edited(programme, eligible_threshold=3, at_risk_signals=["pregnancy"])
    values["positions"]["legal_status"]["V2"] = "counted"
    values["positions"]["episode_ceased"]["E41"] = "review"
    second = edit_rule_set(programme=programme, by=trust_lead, values=values)
    assert rule_set_difference(first, second) == [
        Change("Legal status V2 (Single period of accommodation under section 20)", "for review", "counted"),
        Change("Episode ceased reason E41 (Residence order or child arrangements order)", "counted", "for review"),
        Change("Children removed for a woman to be eligible", "2", "3"),
        Change("What makes a woman with one child removed at risk", "Open care proceedings; A current pregnancy",
               "A current pregnancy"),
    ]
    assert rule_set_difference(second, second) == []


# --- the form --------------------------------------------------------------------------------
def _form_data(rule_set, **changes):
    form = RuleSetForm.for_rule_set(rule_set)
    data = {name: form[name].initial for name in form.fields}
    data.update(changes)
    return data


def test_the_form_round_trips_a_version(programme):
    first = current_rule_set(programme)
    form = RuleSetForm(data=_form_data(first))
    assert form.is_valid(), form.errors
    assert form.rule_values() == default_values() | {"at_risk_signals": first.at_risk_signals}


def test_the_form_makes_the_edit(programme, trust_lead):
    first = current_rule_set(programme)
    data = _form_data(first, review_legal_statuses=["V2", "L1"], minimum_age="18")
    form = RuleSetForm(data=data)
    assert form.is_valid(), form.errors
    second = edit_rule_set(programme=programme, by=trust_lead, values=form.rule_values())
    assert second.positions["legal_status"]["L1"] == "review" and second.minimum_age == 18
    assert second.positions["legal_status"]["J1"] == "not_counted"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"review_legal_statuses": ["V2", "C2"]}, "review_legal_statuses",
     "A code cannot both count as a removal and be for review: untick C2 in one of the two lists"),
    ({"counted_legal_statuses": [], "counted_episode_reasons": []}, "counted_legal_statuses",
     "Select at least one legal status or episode reason that counts as a removal"),
    ({"counted_legal_statuses": ["J1"]}, "counted_legal_statuses", "Select codes from the list"),
    ({"eligible_threshold": ""}, "eligible_threshold",
     "Enter the number of children removed for a woman to be eligible"),
    ({"eligible_threshold": "two"}, "eligible_threshold",
     "The number of children removed for a woman to be eligible must be a whole number, like 2"),
    ({"look_back_years": "0"}, "look_back_years", "The look-back window in years must be 1 years or more"),
    ({"minimum_age": "40"}, "minimum_age", "The minimum age must be 25 years or fewer"),
    ({"open_proceedings_codes": []}, "open_proceedings_codes",
     "Select the legal statuses that show open proceedings, or untick open care proceedings"),
])
def test_the_form_says_what_is_wrong_and_how_to_fix_it(programme, changes, field, message):
    form = RuleSetForm(data=_form_data(current_rule_set(programme), **changes))
    assert not form.is_valid()
    assert form.errors[field] == [message]
