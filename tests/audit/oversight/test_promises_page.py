"""The promises page (issue 23, point 7; ADR 46): each promise of the privacy notice, what keeps
it and the latest evidence the portal holds. With nothing recorded the evidence is marked missing;
after the real events it is current; past its threshold it is stale; a certificate whose digest no
longer holds, a trail that did not verify, a group smaller than k and a member without two-step
sign-in are marked as failures. The DPO and the Caldicott Guardian see it; everyone else gets 404."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.core import certificates
from audit.core.models import AuditEntry, Event
from audit.core.models_certificates import PurgeCertificate, PurgeKind
from audit.oversight.promises import CURRENT, FAILS, MISSING, STALE, promises_of
from pause_portal.tenancy.roles import Role
from sharing.dpia_register import record_review
from sharing.models_scoping import DeletionCertificate, ScopingRelease
from sharing.retention import apply_retention
from sharing.scoping_purge import end_scoping
from sharing.scoping_release import release_for_scoping
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.test_scoping_world import Cohort, agreement

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
DATED = ("The last verification of the audit trail", "The last retention run", "The last purge certificate",
         "The certificate of the end of scoping", "The smallest group in the last scoping release",
         "The data-sharing agreement in force", "The DPIA's review")


def standing(programme, now) -> dict[str, str]:
    return {e.label: e.status for row in promises_of(programme, now) for e in row.evidence}


def page(person):
    return sign_in_verified(Client(), person).get(reverse("dpo:promises"))


def happen(programme, trust_lead, caldicott, *, end: bool = True):
    """The real events: an agreement confirmed, six alike women released for scoping, the trail
    verified, the daily retention run, a purge certified, scoping ended."""
    agreement(programme, proposed_by=trust_lead, decided_by=caldicott)
    cohort = Cohort(programme, trust_lead)
    women = [cohort.woman(born=date(1990, 5, 1), ethnicity="WBRI", removals=[date(2015, 3, 1), date(2018, 6, 1)])
             for _ in range(6)]
    release_for_scoping(programme, women, by=trust_lead)
    call_command("verify_audit_trail")
    apply_retention(programme, dry_run=False, trigger="beat")
    certificates.issue(PurgeKind.RETENTION, programme=programme, by=None, schedule="Synthetic", trigger="test",
                       stores=[certificates.store("Contact attempts", "sharing_contactattempt", 2)])
    if end:
        end_scoping(programme, by=caldicott, trigger="phase change #1")
    return cohort


def test_with_nothing_recorded_every_promise_with_a_record_is_marked_missing(programme, dpo):
    with time_machine.travel(START, tick=False):
        now = standing(programme, START)
        html = page(dpo).content.decode()
    assert {label: now[label] for label in DATED} == dict.fromkeys(DATED, MISSING)
    assert now["Two-step sign-in for every active member"] == CURRENT  # a live check: the DPO has set it up
    assert html.count("Evidence missing") == len(DATED) and "Evidence current" in html
    assert "Only those staff who need to do so will access your personal information." in html
    assert "The data will be deleted by Pause when the work is completed." in html
    assert "scoping_k" not in html and "view_promises" not in html  # words, never codes


def test_after_the_events_the_evidence_is_current_then_stale_past_its_threshold(programme, trust_lead, caldicott,
                                                                                 dpo):
    with time_machine.travel(START, tick=False):
        cohort = happen(programme, trust_lead, caldicott, end=False)
        assert standing(programme, START)["The smallest group in the last scoping release"] == CURRENT
        html = page(dpo).content.decode()
        assert "The smallest group shared had 6 women (at least 5 required)." in html
        assert cohort.identifiers and not [i for i in cohort.identifiers if i in html]  # it names no woman
        end_scoping(programme, by=caldicott, trigger="phase change #1")
        assert set(standing(programme, START).values()) == {CURRENT}
        html = page(dpo).content.decode()
        assert "Evidence missing" not in html and "Evidence stale" not in html
        assert "every release was deleted with its data" in html and "The hash chain held" in html
    later = START + timedelta(days=3)  # the daily retention run is two days overdue
    with time_machine.travel(later, tick=False):
        assert standing(programme, later)["The last retention run"] == STALE
        assert standing(programme, later)["The last verification of the audit trail"] == CURRENT
        assert "Evidence stale" in page(caldicott).content.decode()
    week = START + timedelta(days=8)
    assert standing(programme, week)["The last verification of the audit trail"] == STALE
    assert standing(programme, week)["The last purge certificate"] == CURRENT  # a certificate does not age


def test_a_certificate_whose_digest_no_longer_holds_is_marked_not_current(programme, trust_lead, caldicott, dpo):
    with time_machine.travel(START, tick=False):
        happen(programme, trust_lead, caldicott)
    certificate = PurgeCertificate.objects.get(programme=programme)
    PurgeCertificate.objects.filter(pk=certificate.pk).update(
        stores=[dict(s, rows=0) for s in certificate.stores])  # someone edits the row in the database
    DeletionCertificate.objects.filter(programme=programme).update(stores=[{"store": "Scoping releases", "rows": 0}])
    now = standing(programme, START)
    assert now["The last purge certificate"] == FAILS
    assert now["The certificate of the end of scoping"] == FAILS
    html = page(dpo).content.decode()
    assert html.count("Evidence shows a failure") == 2 and "has been changed since it was issued" in html


def test_a_trail_that_did_not_verify_is_marked_and_its_run_recorded(programme, dpo, settings, tmp_path):
    with time_machine.travel(START, tick=False):
        call_command("verify_audit_trail")
        call_command("seal_audit_trail")
        settings.PORTAL_AUDIT_CHECKPOINT_DIR = str(tmp_path / "elsewhere")  # the checkpoint store replaced
        with pytest.raises(CommandError):
            call_command("verify_audit_trail")
    assert standing(programme, START)["The last verification of the audit trail"] == FAILS
    assert AuditEntry.objects.filter(event=Event.CHANGE, reason__startswith="audit trail verified:").count() == 1
    assert "The audit trail did not verify" in page(dpo).content.decode()


def test_a_group_smaller_than_k_and_a_member_without_two_step_sign_in_are_marked(programme, trust_lead, caldicott):
    with time_machine.travel(START, tick=False):
        happen(programme, trust_lead, caldicott, end=False)
    release = ScopingRelease.objects.get(programme=programme)
    ScopingRelease.objects.filter(pk=release.pk).update(report={**release.report, "smallest_class": 2})
    TOTPDevice.objects.filter(user=trust_lead).delete()
    now = standing(programme, START)
    assert now["The smallest group in the last scoping release"] == FAILS
    assert now["Two-step sign-in for every active member"] == FAILS


@pytest.mark.parametrize("role", [Role.DPO, Role.CALDICOTT_GUARDIAN])
def test_the_dpo_and_the_caldicott_guardian_see_it_and_each_view_is_recorded(programme, role):
    person = f.person(programme.trust)
    f.membership(person, programme, role)
    assert page(person).status_code == 200
    assert AuditEntry.objects.filter(actor=person, event=Event.DISCLOSURE, page=reverse("dpo:promises"),
                                     reason="promises page viewed").exists()
    dashboard = sign_in_verified(Client(), person).get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("dpo:promises")}" id="promises-link"' in dashboard


@pytest.mark.parametrize("role", [Role.TRUST_CASEWORKER, Role.TRUST_LEAD, Role.PAUSE_LEAD, Role.PAUSE_PRACTITIONER])
def test_everyone_else_gets_404(programme, role):
    person = f.person(programme.trust if role in (Role.TRUST_CASEWORKER, Role.TRUST_LEAD) else programme.pause_practice)
    f.membership(person, programme, role)
    assert page(person).status_code == 404
    assert AuditEntry.objects.filter(actor=person, event=Event.REFUSED, status_code=404).count() == 1
    assert not AuditEntry.objects.filter(actor=person, reason="promises page viewed").exists()


def test_the_system_administrator_gets_404(system_admin):
    assert page(system_admin).status_code == 404



def test_a_dpia_review_in_date_is_current_and_one_whose_date_has_passed_is_a_failure(programme, trust_lead, caldicott):
    with time_machine.travel(START, tick=False):
        agreement(programme, proposed_by=trust_lead, decided_by=caldicott, dpia_review=False)
        record_review(programme=programme, by=trust_lead, reviewed_on=date(2026, 11, 1),
                      next_review_on=date(2027, 3, 1))
    assert standing(programme, START)["The DPIA's review"] == CURRENT
    assert standing(programme, datetime(2027, 3, 1, 12, tzinfo=UTC))["The DPIA's review"] == CURRENT  # the date
    late = datetime(2027, 3, 2, 12, tzinfo=UTC)
    assert standing(programme, late)["The DPIA's review"] == FAILS
    (evidence,) = [e for row in promises_of(programme, late) for e in row.evidence if e.label == "The DPIA's review"]
    assert evidence.what == ("The review was due on 1 March 2027 and is not recorded: releases are refused until "
                             "it is.")
