"""The data-sharing agreement: proposed by a Trust lead, confirmed by the Caldicott Guardian
(never the proposer), versioned — a confirmed version is never changed — with GOV.UK-style
messages for what is missing."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from pause_portal.tenancy.roles import Role
from sharing import agreements, dpia_register
from sharing.agreements import (
    agreement_difference,
    confirm_agreement,
    propose_agreement,
    reject_agreement,
    withdraw_agreement,
)
from sharing.models_scoping import Agreement, ChangeStatus
from sharing.release_checks import release_blockers
from sharing.scoping_term import current_agreement
from tests import factories as f
from tests.sharing.notices import trust_notice

pytestmark = pytest.mark.django_db


def valid_values(**changes) -> dict:
    values = {
        "parties": "Synthetic Trust (controller); Synthetic Pause practice (processor)",
        "purposes": "To judge the need for a Pause practice, then to offer Pause to eligible women",
        "lawful_bases": f.BASES,
        "data_items": {"scoping": ["scoping_tokens", "age_band", "child_year_band"],
                       "delivery": ["name", "date_of_birth", "child_delivery_tokens"]},
        "retention": {store: "Until the end of scoping" for store in agreements.RETENTION_STORES}
        | {"do_not_approach": "2 years", "untouched_women": "1 year", "not_eligible_women": "6 months",
           "audit_trail": "6 years"},
        "uk_only_processing": True,
        "policy_document_reference": "APD-2026-01",
        "dpia_reference": "DPIA-17",
        "dpia_signed_off_by": "Synthetic Signatory, Head of Information Governance",
        "dpia_signed_off_on": date(2026, 1, 5),
        "scoping_extension_days": 0,
        "decide_changes_within_days": 14,
    }
    return values | changes


def confirmed_v1(programme, trust_lead, caldicott, **changes) -> Agreement:
    v1 = propose_agreement(programme=programme, by=trust_lead, values=valid_values(**changes))
    return confirm_agreement(agreement=v1, by=caldicott, justification="Within the agreed purpose")


def errors_of(exc: pytest.ExceptionInfo) -> dict:
    return {k: " ".join(v) for k, v in exc.value.message_dict.items()}


def test_a_trust_lead_proposes_and_the_caldicott_guardian_confirms(programme, trust_lead, caldicott):
    proposed = propose_agreement(programme=programme, by=trust_lead, values=valid_values())
    assert proposed.version == 1 and proposed.status == ChangeStatus.PROPOSED and proposed.based_on is None
    assert current_agreement(programme) is None
    assert release_blockers(programme) != []
    confirm_agreement(agreement=proposed, by=caldicott, justification="Within the agreed purpose")
    current = current_agreement(programme)
    assert current.pk == proposed.pk and current.decided_by == caldicott and current.decided_at is not None
    assert release_blockers(programme) == [dpia_register.NO_REVIEW]  # the DPIA's review, too (ADR 48)
    f.dpia_review_in_date(programme, by=trust_lead)
    assert release_blockers(programme) == []
    reasons = set(AuditEntry.objects.filter(event=Event.CHANGE, programme=programme).values_list("reason", flat=True))
    assert {"data-sharing agreement version 1 proposed", "data-sharing agreement version 1 confirmed"} <= reasons


@pytest.mark.parametrize("decider", ["trust_lead", "second_trust_lead", "dpo", "caseworker", "pause_lead",
                                     "other_caldicott"])
def test_only_the_programmes_caldicott_guardian_decides(decider, programme, other_programme, trust_lead, dpo,
                                                       caseworker, pause_lead):
    people = {"trust_lead": trust_lead, "dpo": dpo, "caseworker": caseworker, "pause_lead": pause_lead}
    people["second_trust_lead"] = f.person(programme.trust)
    f.membership(people["second_trust_lead"], programme, Role.TRUST_LEAD)
    people["other_caldicott"] = f.person(other_programme.trust)
    f.membership(people["other_caldicott"], other_programme, Role.CALDICOTT_GUARDIAN)
    proposed = propose_agreement(programme=programme, by=trust_lead, values=valid_values())
    with pytest.raises(PermissionDenied):
        confirm_agreement(agreement=proposed, by=people[decider], justification="Within the agreed purpose")
    with pytest.raises(PermissionDenied):
        reject_agreement(agreement=proposed, by=people[decider], justification="No")
    assert Agreement.objects.get(pk=proposed.pk).status == ChangeStatus.PROPOSED


@pytest.mark.parametrize("proposer", ["caldicott", "dpo", "caseworker", "pause_lead"])
def test_only_a_trust_lead_proposes(proposer, programme, caldicott, dpo, caseworker, pause_lead):
    person = {"caldicott": caldicott, "dpo": dpo, "caseworker": caseworker, "pause_lead": pause_lead}[proposer]
    with pytest.raises(PermissionDenied):
        propose_agreement(programme=programme, by=person, values=valid_values())
    assert not Agreement.objects.exists()


def test_the_database_refuses_a_version_decided_by_its_proposer(programme, trust_lead):
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.create(programme=programme, version=1, parties="x", purposes="y", proposed_by=trust_lead,
                                 status=ChangeStatus.CONFIRMED, decided_by=trust_lead, decided_at=timezone.now())


def test_a_confirmed_version_is_never_changed_a_change_is_the_next_version(programme, trust_lead, caldicott):
    v1 = confirmed_v1(programme, trust_lead, caldicott)
    before = {k: getattr(v1, k) for k in agreements.VALUE_FIELDS} | {"status": v1.status}
    trust_notice(programme, by=trust_lead, confirmed_by=caldicott, extension_days=14)
    v2 = propose_agreement(programme=programme, by=trust_lead, change_reason="Scoping needs two more weeks",
                           values=valid_values(scoping_extension_days=14, purposes="New purposes"))
    assert v2.version == 2 and v2.based_on == v1
    assert current_agreement(programme) == v1  # until confirmed
    confirm_agreement(agreement=v2, by=caldicott, justification="Within the agreed purpose")
    v1.refresh_from_db()
    assert {k: getattr(v1, k) for k in agreements.VALUE_FIELDS} | {"status": v1.status} == before
    assert current_agreement(programme) == v2
    changed = {c.field: (c.before, c.after) for c in agreement_difference(v1, v2)}
    assert set(changed) == {"Purposes", "Scoping extension"}
    assert changed["Scoping extension"] == (["None"], ["14 days beyond three months"])


def test_rejected_and_withdrawn_versions_keep_their_numbers_and_change_nothing(programme, trust_lead, caldicott):
    v1 = confirmed_v1(programme, trust_lead, caldicott)
    v2 = propose_agreement(programme=programme, by=trust_lead, values=valid_values(purposes="Other"),
                           change_reason="Wider purposes")
    with pytest.raises(ValidationError, match="Enter your justification for rejecting version 2 of the agreement"):
        reject_agreement(agreement=v2, by=caldicott, justification=" ")
    reject_agreement(agreement=v2, by=caldicott, justification="Too wide")
    assert AuditEntry.objects.filter(reason="data-sharing agreement version 2 rejected: Too wide").exists()
    v3 = propose_agreement(programme=programme, by=trust_lead, values=valid_values(purposes="Third"),
                           change_reason="Narrower")
    assert v3.version == 3 and v3.based_on == v1
    with pytest.raises(PermissionDenied):
        withdraw_agreement(agreement=v3, by=caldicott)
    withdraw_agreement(agreement=v3, by=trust_lead)
    assert current_agreement(programme) == v1
    with pytest.raises(ValidationError, match="not waiting"):
        confirm_agreement(agreement=v3, by=caldicott, justification="Within the agreed purpose")


def test_one_proposal_waits_at_a_time(programme, trust_lead, caldicott):
    propose_agreement(programme=programme, by=trust_lead, values=valid_values())
    with pytest.raises(ValidationError, match="already waiting"):
        propose_agreement(programme=programme, by=trust_lead, values=valid_values())


def test_a_change_that_changes_nothing_is_refused(programme, trust_lead, caldicott):
    confirmed_v1(programme, trust_lead, caldicott)
    with pytest.raises(ValidationError, match="Nothing has changed from version 1"):
        propose_agreement(programme=programme, by=trust_lead, values=valid_values(), change_reason="No reason")


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"policy_document_reference": ""}, "policy_document_reference",
     "Enter the reference of the appropriate policy document: a DPA 2018 Schedule 1 Part 2 condition"),
    ({"lawful_bases": {"trust": f.BASES["trust"]}}, "pause_article_6", "Choose Pause's Article 6 lawful basis"),
    ({"lawful_bases": {**f.BASES, "trust": {"article_6": "art6_1_e", "power": "ca2004_s10"}}}, "trust_article_9",
     "Choose the Trust's Article 9 condition"),
    ({"lawful_bases": {**f.BASES, "trust": {"article_6": "art6_1_e", "article_9": "art9_2_x"}}},
     "trust_article_9", "Choose the Trust's Article 9 condition"),
    ({"lawful_bases": {**f.BASES, "trust": {"article_6": "art6_1_c", "article_9": "art9_2_h"}}},
     "trust_power", "Choose the law that sets out the task or obligation"),
    ({"lawful_bases": {**f.BASES, "pause": {**f.BASES["pause"], "power": "ca1989_s17"}}},
     "pause_power", "Leave the statutory power empty"),
    ({"lawful_bases": {**f.BASES, "trust": {**f.BASES["trust"], "power": "power_999"}}},
     "trust_power", "Choose a statutory power from the list"),
    ({"lawful_bases": ["art6_1_e", "art9_2_h"]}, "trust_article_6", "Choose the Trust's Article 6 lawful basis"),
    ({"decide_changes_within_days": None}, "decide_changes_within_days", "Enter how many days the Trust has"),
    ({"decide_changes_within_days": 29}, "decide_changes_within_days", "a whole number from 1 to 28"),
    ({"decide_changes_within_days": 0}, "decide_changes_within_days", "a whole number from 1 to 28"),
    ({"parties": "  "}, "parties", "Enter the parties"),
    ({"purposes": ""}, "purposes", "Enter the purposes"),
    ({"data_items": {"scoping": ["name"], "delivery": ["name"]}}, "data_items_scoping",
     "Select data items from the list"),
    ({"data_items": {"scoping": ["age_band"], "delivery": []}}, "data_items_delivery",
     "Select the data items delivery may share"),
    ({"retention": {}}, "retention_final_report", "Enter how long this is kept: the approved final scoping report"),
    ({"dpia_signed_off_on": None}, "dpia_signed_off_on", "Enter the date the DPIA was signed off"),
    ({"dpia_signed_off_by": ""}, "dpia_signed_off_by", "Enter the name and role"),
    ({"dpia_signed_off_on": date(2999, 1, 1)}, "dpia_signed_off_on", "must be today or in the past"),
    ({"dpia_reference": ""}, "dpia_reference", "Enter the DPIA's reference"),
    ({"scoping_extension_days": 93}, "scoping_extension_days", "92 days or fewer"),
    ({"scoping_extension_days": 10}, "change_reason", "Enter why scoping needs more time"),
])
def test_clear_messages_for_what_is_missing(changes, field, message, programme, trust_lead):
    with pytest.raises(ValidationError) as exc:
        propose_agreement(programme=programme, by=trust_lead, values=valid_values(**changes))
    assert message in errors_of(exc)[field]
    assert not Agreement.objects.exists()


def test_without_9_2_g_no_policy_document_is_needed_to_propose_but_release_waits_for_one(programme, trust_lead,
                                                                                        caldicott):
    h_only = {c: {**b, "article_9": "art9_2_h"} for c, b in f.BASES.items()}
    confirmed_v1(programme, trust_lead, caldicott, lawful_bases=h_only, policy_document_reference="")
    f.dpia_review_in_date(programme, by=trust_lead)
    assert release_blockers(programme) == ["The agreement does not record the appropriate policy document"]


def test_a_change_needs_a_reason(programme, trust_lead, caldicott):
    confirmed_v1(programme, trust_lead, caldicott)
    with pytest.raises(ValidationError) as exc:
        propose_agreement(programme=programme, by=trust_lead, values=valid_values(purposes="Changed"))
    assert errors_of(exc) == {"change_reason": "Enter why the agreement is changing"}


def test_the_confirmation_rolls_back_when_its_audit_entry_cannot_be_written(programme, trust_lead, caldicott,
                                                                          monkeypatch):
    proposed = propose_agreement(programme=programme, by=trust_lead, values=valid_values())

    def failing(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(agreements, "record_event", failing)
    with pytest.raises(RuntimeError):
        confirm_agreement(agreement=proposed, by=caldicott, justification="Within the agreed purpose")
    assert Agreement.objects.get(pk=proposed.pk).status == ChangeStatus.PROPOSED
