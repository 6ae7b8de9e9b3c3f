"""The Caldicott log (issue 23, point 3; ADR 45): a confirmation or rejection of an agreement
version needs the Caldicott Guardian's justification (missing: a plain-English error and nothing
changes), and each writes exactly one log entry with it, in the decision's transaction; the log
page and its CSV export list the entries in words, newest first, to the Caldicott Guardian and the
DPO of the programme only (everyone else: tests/sharing/test_governance_pages.py, 404)."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry, Event
from pause_portal.tenancy.roles import Role
from sharing import agreements, statutory_powers
from sharing.agreements import confirm_agreement, propose_agreement, reject_agreement
from sharing.models_caldicott import CaldicottDecision
from sharing.models_powers import StatutoryPower
from sharing.models_scoping import Agreement, ChangeStatus
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.test_governance_agreements import valid_values

pytestmark = pytest.mark.django_db

DECIDE = {"confirm": confirm_agreement, "reject": reject_agreement}


@pytest.mark.parametrize("decision", ["confirm", "reject"])
@pytest.mark.parametrize("justification", ["", "   \n "])
def test_a_decision_without_a_justification_is_refused_and_changes_nothing(decision, justification, programme,
                                                                            trust_lead, caldicott):
    proposed = propose_agreement(programme=programme, by=trust_lead, values=valid_values())
    entries = AuditEntry.objects.count()
    verb = "confirming" if decision == "confirm" else "rejecting"
    with pytest.raises(ValidationError, match=f"Enter your justification for {verb} version 1 of the agreement"):
        DECIDE[decision](agreement=proposed, by=caldicott, justification=justification)
    assert Agreement.objects.get(pk=proposed.pk).status == ChangeStatus.PROPOSED
    assert not CaldicottDecision.objects.exists()
    assert AuditEntry.objects.count() == entries


def test_a_justification_over_2000_characters_is_refused(programme, trust_lead, caldicott):
    proposed = propose_agreement(programme=programme, by=trust_lead, values=valid_values())
    with pytest.raises(ValidationError, match="must be 2000 characters or fewer"):
        confirm_agreement(agreement=proposed, by=caldicott, justification="x" * 2001)
    assert Agreement.objects.get(pk=proposed.pk).status == ChangeStatus.PROPOSED
    assert not CaldicottDecision.objects.exists()


def test_the_justification_is_required_and_keyword_only():
    import inspect

    for action in (*DECIDE.values(), statutory_powers.decide_power):
        parameter = inspect.signature(action).parameters["justification"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.default is inspect.Parameter.empty


@pytest.mark.parametrize("decision,status,word", [("confirm", ChangeStatus.CONFIRMED, "Confirmed"),
                                                  ("reject", ChangeStatus.REJECTED, "Rejected")])
def test_each_decision_writes_exactly_one_entry_with_its_justification(decision, status, word, programme,
                                                                       trust_lead, caldicott):
    proposed = propose_agreement(programme=programme, by=trust_lead, values=valid_values())
    DECIDE[decision](agreement=proposed, by=caldicott, justification="  Matches the signed DPIA  ")
    assert Agreement.objects.get(pk=proposed.pk).status == status
    entry = CaldicottDecision.objects.get()
    assert (entry.programme, entry.kind, entry.subject_pk, entry.decided_by) == (programme, "agreement", proposed.pk,
                                                                                 caldicott)
    assert entry.justification == "Matches the signed DPIA"
    assert entry.subject == "Version 1 of the agreement" and entry.get_decision_display() == word


def test_the_decision_form_warns_against_personal_data_in_the_justification(programme, trust_lead, caldicott):
    propose_agreement(programme=programme, by=trust_lead, values=valid_values())
    body = sign_in_verified(Client(), caldicott).get(reverse("governance:agreement-decide")).content.decode()
    assert "Your justification" in body and "do not name or describe any woman or child" in body


def test_the_entry_is_written_with_the_decision_or_not_at_all(programme, trust_lead, caldicott, monkeypatch):
    """A failure after the log write (here: the scoping re-check) leaves neither the decision nor
    the entry."""
    proposed = propose_agreement(programme=programme, by=trust_lead, values=valid_values())  # new scoping items

    def fails(*args, **kwargs):
        raise RuntimeError("the re-check failed")

    monkeypatch.setattr(agreements, "recheck_for_items", fails)
    with pytest.raises(RuntimeError):
        confirm_agreement(agreement=proposed, by=caldicott, justification="Fine")
    assert Agreement.objects.get(pk=proposed.pk).status == ChangeStatus.PROPOSED
    assert not CaldicottDecision.objects.exists()


@pytest.mark.parametrize("confirm,verb", [(True, "confirming"), (False, "rejecting")])
def test_a_statutory_power_decision_needs_a_justification_and_is_logged_once(confirm, verb, programme, trust_lead,
                                                                             caldicott):
    power = statutory_powers.propose_power(programme=programme, by=trust_lead, label="Synthetic Act 2026, section 3",
                                           justification="Synthetic advice")
    with pytest.raises(ValidationError, match=f"Enter your justification for {verb} the statutory power"):
        statutory_powers.decide_power(power=power, by=caldicott, confirm=confirm, justification=" ")
    assert StatutoryPower.objects.get(pk=power.pk).status == ChangeStatus.PROPOSED
    assert not CaldicottDecision.objects.exists()
    statutory_powers.decide_power(power=power, by=caldicott, confirm=confirm, justification="Counsel's advice")
    entry = CaldicottDecision.objects.get()
    assert (entry.kind, entry.subject_pk, entry.justification) == ("statutory_power", power.pk, "Counsel's advice")
    assert entry.subject == "Statutory power: Synthetic Act 2026, section 3"
    assert entry.get_decision_display() == ("Confirmed" if confirm else "Rejected")
    assert StatutoryPower.objects.get(pk=power.pk).decision_reason == "Counsel's advice"


def _decide_twice(programme, trust_lead, caldicott):
    v1 = propose_agreement(programme=programme, by=trust_lead, values=valid_values())
    reject_agreement(agreement=v1, by=caldicott, justification="The purposes are too wide")
    v2 = propose_agreement(programme=programme, by=trust_lead, values=valid_values(purposes="Narrower"))
    confirm_agreement(agreement=v2, by=caldicott, justification="Narrower purposes, as asked")


@pytest.mark.parametrize("reader", ["caldicott", "dpo"])
def test_the_page_lists_the_entries_in_words_newest_first(reader, programme, trust_lead, caldicott, dpo):
    _decide_twice(programme, trust_lead, caldicott)
    person = {"caldicott": caldicott, "dpo": dpo}[reader]
    client = sign_in_verified(Client(), person)
    response = client.get(reverse("governance:caldicott-log"))
    assert response.status_code == 200
    body = response.content.decode()
    table = body[body.index('id="caldicott-log"'):]
    assert table.index("Version 2 of the agreement") < table.index("Version 1 of the agreement")
    for words in ("Confirmed", "Rejected", "Data-sharing agreement version", "The purposes are too wide",
                  "Narrower purposes, as asked", caldicott.full_name):
        assert words in table
    assert ">confirm<" not in table and ">agreement<" not in table
    assert AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=person, reason="staff details",
                                     programme=programme).exists()
    # the dashboard links to it
    assert reverse("governance:caldicott-log") in client.get(reverse("dashboard")).content.decode()


def test_the_filter_by_kind_and_an_unknown_kind(programme, trust_lead, caldicott):
    _decide_twice(programme, trust_lead, caldicott)
    client = sign_in_verified(Client(), caldicott)
    power = statutory_powers.propose_power(programme=programme, by=trust_lead, label="Synthetic Act 2026, section 4",
                                           justification="Synthetic advice")
    statutory_powers.decide_power(power=power, by=caldicott, confirm=True, justification="Counsel agrees")
    only_agreements = client.get(reverse("governance:caldicott-log") + "?kind=agreement").content.decode()
    assert "Version 1 of the agreement" in only_agreements and "Synthetic Act 2026" not in only_agreements
    only_powers = client.get(reverse("governance:caldicott-log") + "?kind=statutory_power").content.decode()
    assert "Version 1 of the agreement" not in only_powers and "Statutory power: Synthetic Act 2026" in only_powers
    # an unknown kind is a clear error, and the page shows everything
    body = client.get(reverse("governance:caldicott-log") + "?kind=nope").content.decode()
    assert "Select what was decided from the list" in body and "Version 1 of the agreement" in body


def test_another_programmes_entries_are_not_shown(programme, other_programme, trust_lead, caldicott):
    _decide_twice(programme, trust_lead, caldicott)
    outsider = f.person(other_programme.trust)
    f.membership(outsider, other_programme, Role.CALDICOTT_GUARDIAN)
    client = sign_in_verified(Client(), outsider)
    assert "Version 1 of the agreement" not in client.get(reverse("governance:caldicott-log")).content.decode()
    rows = list(csv.reader(io.StringIO(client.get(reverse("governance:caldicott-log-export")).content
                                       .decode("utf-8-sig"))))
    assert len(rows) == 1  # the header only


def test_the_export_lists_the_entries_in_words(programme, trust_lead, caldicott, dpo):
    _decide_twice(programme, trust_lead, caldicott)
    client = sign_in_verified(Client(), dpo)
    response = client.get(reverse("governance:caldicott-log-export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["When", "What was decided", "Kind", "Decision", "Justification", "Decided by"]
    assert [r[1:] for r in rows[1:]] == [
        ["Version 2 of the agreement", "Data-sharing agreement version", "Confirmed", "Narrower purposes, as asked",
         caldicott.full_name],
        ["Version 1 of the agreement", "Data-sharing agreement version", "Rejected", "The purposes are too wide",
         caldicott.full_name],
    ]
    assert AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=dpo, reason="staff details").exists()


def test_a_formula_in_a_justification_is_neutralised_in_the_export(programme, trust_lead, caldicott):
    proposed = propose_agreement(programme=programme, by=trust_lead, values=valid_values())
    confirm_agreement(agreement=proposed, by=caldicott, justification="=HYPERLINK(\"http://x\")")
    rows = list(csv.reader(io.StringIO(sign_in_verified(Client(), caldicott)
                                       .get(reverse("governance:caldicott-log-export")).content.decode("utf-8-sig"))))
    assert not rows[1][4].startswith("=")
