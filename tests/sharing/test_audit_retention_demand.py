"""The deployment's one audit-trail period against what the agreements ask (issue 22, point 6;
ADR 40): the longest live demand, counted by a bound that never falls short; a system check at
error level and start-up's refusal when the deployment keeps the trail for less; and a proposed
agreement asking longer than the deployment is refused, saying the deployment's period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.checks import Error, Warning
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pause_portal import hooks
from pause_portal.tenancy.models import Phase
from sharing.agreements import propose_agreement
from sharing.audit_retention import (
    check_audit_retention,
    days_at_most,
    live_demands,
    longest,
    refuse_to_start_if_too_short,
)
from sharing.models_scoping import Agreement, ChangeStatus, PhaseChange
from sharing.retention import parse_period
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.test_governance_agreements import valid_values
from tests.sharing.test_governance_pages import agreement_form

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("words", "days"), [("6 years", 2196), ("Six years", 2196), ("18 months", 552),
                                             ("1 year and 6 months", 552), ("12 weeks", 84), ("30 days", 30),
                                             ("2 years, 1 month and 3 days", 766)])
def test_a_period_counts_a_year_as_366_days_and_a_month_as_31(words, days):
    assert days_at_most(parse_period(words)) == days


def agreement(programme, words: str, **kwargs) -> Agreement:
    return f.AgreementFactory(programme=programme, retention={"audit_trail": words}, **kwargs)


def test_the_longest_live_demand_is_each_programmes_latest_confirmed_version():
    first, second = f.programme(phase="delivery"), f.programme(phase="scoping")
    agreement(first, "9 years")  # version 1, replaced by ...
    agreement(first, "5 years")  # ... version 2, in force
    agreement(first, "12 years", status=ChangeStatus.PROPOSED, decided_by=None, decided_at=None)  # not in force
    agreement(second, "6 years")
    agreement(f.programme(phase="delivery"), "As long as the law says")  # cannot be compared
    demands = live_demands()
    assert sorted((d.agreement.programme_id, d.days) for d in demands) == sorted(
        [(first.pk, 1830), (second.pk, 2196), (Agreement.objects.order_by("-pk").first().programme_id, None)])
    assert longest(demands).days == 2196 and longest(demands).agreement.programme == second
    assert hooks.call(hooks.AUDIT_RETENTION_DEMAND, by=None)["days"] == 2196


def test_a_closed_programme_counts_until_its_period_has_run_from_its_closure():
    programme = f.programme(phase="closed")
    agreement(programme, "1 year")
    lead = f.person(programme.trust)
    closure = PhaseChange.objects.create(programme=programme, from_phase=Phase.DELIVERY, to_phase=Phase.CLOSED,
                                         reason="ended", status=ChangeStatus.CONFIRMED, proposed_by=lead,
                                         decided_by=f.person(programme.trust),
                                         decided_at=timezone.now() - timedelta(days=300))
    assert [d.days for d in live_demands()] == [366]  # closed 300 days ago: its entries are still owed
    PhaseChange.objects.filter(pk=closure.pk).update(decided_at=timezone.now() - timedelta(days=400))
    assert live_demands() == []


def test_the_system_check_fails_when_a_live_agreement_asks_longer_than_the_deployment(settings):
    programme = f.programme(name="Northfield delivery", phase="delivery")
    agreement(programme, "7 years")
    settings.PORTAL_AUDIT_RETENTION_DAYS = 2562
    assert check_audit_retention(databases=["default"]) == []
    call_command("check", databases=["default"])  # passes
    refuse_to_start_if_too_short()  # starts
    settings.PORTAL_AUDIT_RETENTION_DAYS = 2561
    assert check_audit_retention() == []  # a database check: asked only with its database
    [error] = check_audit_retention(databases=["default"])
    assert isinstance(error, Error) and error.id == "sharing.E040"
    assert error.msg.startswith("PORTAL_AUDIT_RETENTION_DAYS is 2561 days, but Northfield delivery's agreement "
                                "(version 1) keeps the audit trail \u201c7 years\u201d, which is up to 2562 days")
    with pytest.raises(SystemCheckError, match="sharing.E040"):
        call_command("check", databases=["default"])
    with pytest.raises(SystemCheckError, match="sharing.E040"):
        call_command("migrate", skip_checks=False, verbosity=0)  # it refuses before migrating anything
    with pytest.raises(ImproperlyConfigured, match="must be at least 2562 days"):
        refuse_to_start_if_too_short()


def test_the_celery_worker_and_beat_exit_at_start_up_when_it_is_too_short(settings):
    from pause_portal.celery import _refuse_to_start_if_audit_retention_too_short as at_start_up

    agreement(f.programme(phase="delivery"), "7 years")
    settings.PORTAL_AUDIT_RETENTION_DAYS = 2562
    at_start_up(sender=None)  # long enough: starts
    settings.PORTAL_AUDIT_RETENTION_DAYS = 2196
    with pytest.raises(SystemExit, match="Refusing to start: PORTAL_AUDIT_RETENTION_DAYS is 2196 days"):
        at_start_up(sender=None)


def test_a_period_the_portal_cannot_compare_is_a_warning_not_a_refusal():
    agreement(f.programme(phase="delivery"), "Until the Trust says")
    [warning] = check_audit_retention(databases=["default"])
    assert isinstance(warning, Warning) and warning.id == "sharing.W040"
    refuse_to_start_if_too_short()


def test_a_proposed_agreement_asking_longer_than_the_deployment_is_refused(programme, trust_lead, settings):
    with pytest.raises(ValidationError) as refused:
        propose_agreement(programme=programme, by=trust_lead,
                          values=valid_values(retention=valid_values()["retention"] | {"audit_trail": "7 years"}))
    message = refused.value.message_dict["retention_audit_trail"][0]
    assert message.startswith("The audit trail is kept for 2,196 days across the whole portal (the deployment's "
                              "period): \u201c7 years\u201d can be up to 2,562 days")
    with pytest.raises(ValidationError, match="is not a period the portal can apply"):
        propose_agreement(programme=programme, by=trust_lead,
                          values=valid_values(retention=valid_values()["retention"] | {"audit_trail": "For ever"}))
    assert not Agreement.objects.exists()
    settings.PORTAL_AUDIT_RETENTION_DAYS = 2562
    propose_agreement(programme=programme, by=trust_lead,
                      values=valid_values(retention=valid_values()["retention"] | {"audit_trail": "7 years"}))
    assert Agreement.objects.get().retention["audit_trail"] == "7 years"


def test_the_agreement_page_says_the_deployments_period_and_writes_nothing(programme, trust_lead):
    lead = sign_in_verified(Client(), trust_lead)
    response = lead.post(reverse("governance:agreement-propose"), agreement_form(retention_audit_trail="Seven years"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "There is a problem" in body and "The audit trail is kept for 2,196 days across the whole portal" in body
    assert not Agreement.objects.exists()
