"""The retention page (issue 22, points 3 and 7; ADR 41): the DPO and the Caldicott Guardian see
each run with its counts and certificate, every purge certificate of their programme (and the
deployment's), what falls due, and preview the next run; a certificate's page shows every field in
words and says when its digest no longer holds. Everyone else gets 404; every view is recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core import certificates
from audit.core.models import AuditEntry, Event
from audit.core.models_certificates import PurgeCertificate, PurgeKind
from pause_portal import presenting
from pause_portal.tenancy.roles import Role
from sharing.models_delivery import ReleasedWoman, RetentionRun
from sharing.models_scoping import Agreement, DeletionCertificate
from sharing.retention import apply_retention
from sharing.scoping_purge import certificate_digest
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world, person_in

pytestmark = pytest.mark.django_db

CATEGORY_KEYS = ("released_women", "contact_attempts", "closed_concerns", "ended_assignments", "report_drafts",
                 "do_not_approach", "delivery_records")


@pytest.fixture
def world():
    """Two released women; the first withdrawn by the Trust 40 days ago, the second 20 days ago;
    Pause keeps delivery records 30 days. One real run (by the beat) has deleted the first."""
    world = delivery_world(women=2)
    first, second = world.released
    now = timezone.now()
    ReleasedWoman.objects.filter(pk=first.pk).update(withdrawn_at=now - timedelta(days=40),
                                                     withdrawn_by=world.trust_lead)
    ReleasedWoman.objects.filter(pk=second.pk).update(withdrawn_at=now - timedelta(days=20),
                                                      withdrawn_by=world.trust_lead)
    Agreement.objects.filter(programme=world.programme).update(retention={"delivery_records": "30 days"})
    world.run = apply_retention(world.programme, dry_run=False, trigger="beat")
    world.dpo = person_in(world, Role.DPO)
    return world


def page(person, name="dpo:retention", *args, **kwargs):
    return sign_in_verified(Client(), person).get(reverse(name, args=args), **kwargs)


@pytest.mark.parametrize("role", [Role.DPO, Role.CALDICOTT_GUARDIAN])
def test_the_dpo_and_the_caldicott_guardian_see_each_run_in_words_with_its_certificate(world, role):
    viewer = person_in(world, role)
    dry = apply_retention(world.programme, dry_run=True, trigger="command")
    response = page(viewer)
    assert response.status_code == 200
    html = response.content.decode()
    assert "The daily schedule" in html and "manage.py apply_retention, on the server" in html
    assert "Dry run: nothing deleted" in html and "None: a dry run" in html
    assert "Released women who left Pause&#x27;s view: 1" in html
    assert reverse("dpo:purge-certificate", args=[world.run.certificate.pk]) in html
    assert not any(key in html for key in CATEGORY_KEYS)  # words, never category keys
    assert dry.pk and AuditEntry.objects.filter(actor=viewer, event=Event.DISCLOSURE, page=reverse("dpo:retention"),
                                                reason="retention page viewed").exists()


def test_what_falls_due_shows_each_category_with_its_first_date(world):
    html = page(world.dpo).content.decode()
    second = ReleasedWoman.objects.get(pk=world.released[1].pk)
    due = second.withdrawn_at + timedelta(days=30)  # the second woman's 30 days run out in 10 days
    assert "What falls due in the next 90 days" in html
    assert presenting.day(due) in html
    assert "Quarterly report drafts never sent" in html and "Nothing in the next 90 days" in html


def test_every_certificate_of_the_programme_and_the_deployment_is_listed_and_no_other(world):
    other = delivery_world(women=0)
    theirs = certificates.issue(PurgeKind.RETENTION, programme=other.programme, by=None, schedule="Synthetic",
                                trigger="elsewhere", stores=[certificates.store("Contact attempts",
                                                                                "sharing_contactattempt", 9)])
    trail = certificates.issue(PurgeKind.AUDIT_TRAIL, programme=None, by=None, schedule="Synthetic trail schedule",
                               trigger="audit-trail retention", stores=[certificates.store("Audit entries",
                                                                                           "audit_auditentry", 4)])
    scoping = DeletionCertificate(programme=world.programme, purged_at=timezone.now() - timedelta(days=300),
                                  trigger="deadline", stores=[{"store": "Scoping releases", "rows": 3}],
                                  keys_destroyed=[], kept=[])
    scoping.digest = certificate_digest(scoping)
    scoping.save()
    html = page(world.dpo).content.decode()
    assert reverse("dpo:purge-certificate", args=[trail.pk]) in html
    assert reverse("dpo:purge-certificate", args=[world.run.certificate.pk]) in html
    assert reverse("dpo:purge-certificate", args=[theirs.pk]) not in html
    assert "End of scoping" in html and reverse("scoping-report:certificate") in html
    assert "Retention of the audit trail" in html and "Does not match" not in html
    DeletionCertificate.objects.filter(pk=scoping.pk).update(stores=[{"store": "Scoping releases", "rows": 0}])
    assert "Does not match" in page(world.dpo).content.decode()
    assert "Does not match" in page(world.dpo, "scoping-report:certificate").content.decode()


def test_a_certificate_page_shows_every_field_and_says_when_the_digest_no_longer_holds(world):
    certificate = world.run.certificate
    response = page(world.dpo, "dpo:purge-certificate", certificate.pk)
    html = response.content.decode()
    assert response.status_code == 200
    for words in ("Retention of Pause&#x27;s delivery records", "daily retention schedule (Celery beat, 02:30)",
                  f"Retention run #{world.run.pk}", "sharing_releasedwoman", "Released women",
                  "Everything about a woman with an open safeguarding concern", certificate.digest, "Matches",
                  presenting.day(certificate.remains[-1]["until"]), "write-ahead log and backups"):
        assert words in html, words
    assert "does not hold" not in html
    assert AuditEntry.objects.filter(actor=world.dpo, object_pk=str(certificate.pk),
                                     reason="purge certificate viewed").exists()
    PurgeCertificate.objects.filter(pk=certificate.pk).update(
        stores=[dict(s, rows=0) for s in certificate.stores])  # someone edits the row in the database
    html = page(world.dpo, "dpo:purge-certificate", certificate.pk).content.decode()
    assert "The digest does not hold" in html and "Does not match" in html


def test_previewing_the_next_run_records_a_dry_run_by_the_viewer_and_deletes_nothing(world):
    caldicott = world.caldicott
    ReleasedWoman.objects.filter(pk=world.released[1].pk).update(withdrawn_at=timezone.now() - timedelta(days=31))
    refused = sign_in_verified(Client(enforce_csrf_checks=True), caldicott).post(reverse("dpo:retention-preview"))
    assert refused.status_code == 403 and not RetentionRun.objects.filter(trigger="preview").exists()
    response = sign_in_verified(Client(), caldicott).post(reverse("dpo:retention-preview"), follow=True)
    run = RetentionRun.objects.get(trigger="preview")
    assert run.dry_run and run.run_by == caldicott and run.certificate is None
    assert ReleasedWoman.objects.filter(pk=world.released[1].pk).exists()
    assert response.redirect_chain[-1][0] == f"{reverse('dpo:retention')}?preview={run.pk}#preview"
    html = response.content.decode()
    assert 'id="preview-result"' in html and "Released women who left Pause&#x27;s view: 1" in html
    assert AuditEntry.objects.filter(actor=caldicott, object_pk=str(run.pk),
                                     reason__startswith=f"retention run #{run.pk} (preview, dry run").exists()


def test_a_preview_the_agreement_cannot_support_is_refused_clearly_and_records_nothing(world):
    Agreement.objects.filter(programme=world.programme).update(retention={"delivery_records": "for ever"})
    response = sign_in_verified(Client(), world.dpo).post(reverse("dpo:retention-preview"), follow=True)
    html = response.content.decode()
    assert "The preview cannot run, and nothing was recorded" in html and "for ever" in html
    assert not RetentionRun.objects.filter(trigger="preview").exists()
    assert "The forecast cannot be made" in html


@pytest.mark.parametrize("role", [Role.TRUST_CASEWORKER, Role.TRUST_LEAD, Role.PAUSE_LEAD, Role.PAUSE_PRACTITIONER,
                                  Role.SYSTEM_ADMIN])
def test_everyone_else_gets_404_and_nothing_is_run(world, role):
    person = person_in(world, role)
    client = sign_in_verified(Client(), person)
    for response in (client.get(reverse("dpo:retention")), client.post(reverse("dpo:retention-preview")),
                     client.get(reverse("dpo:purge-certificate", args=[world.run.certificate.pk]))):
        assert response.status_code == 404
    assert not RetentionRun.objects.filter(trigger="preview").exists()
    assert AuditEntry.objects.filter(actor=person, event=Event.REFUSED, status_code=404).count() == 3


def test_another_programmes_dpo_gets_404_for_its_certificates_but_sees_the_deployments(world):
    other = delivery_world(women=0)
    outsider = person_in(other, Role.DPO)
    trail = certificates.issue(PurgeKind.AUDIT_TRAIL, programme=None, by=None, schedule="Synthetic trail schedule",
                               trigger="audit-trail retention", stores=[certificates.store("Audit entries",
                                                                                           "audit_auditentry", 4)])
    assert page(outsider, "dpo:purge-certificate", world.run.certificate.pk).status_code == 404
    assert page(outsider, "dpo:purge-certificate", trail.pk).status_code == 200
    assert reverse("dpo:purge-certificate", args=[world.run.certificate.pk]) not in page(outsider).content.decode()


@pytest.mark.parametrize("role", [Role.DPO, Role.CALDICOTT_GUARDIAN])
def test_the_dashboard_links_to_the_retention_page(role, programme):
    person = f.person(programme.trust)
    f.membership(person, programme, role)
    html = sign_in_verified(Client(), person).get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("dpo:retention")}" id="retention-link"' in html


def test_the_trusts_copy_falls_due_and_is_previewed_with_the_delivery_records(world):
    """The Trust-copy retention joins the page (ADR 38, 41): its forecast per rule, in words, and
    its dry run beside the delivery run's, deleting nothing."""
    from eligibility.models import Woman

    Agreement.objects.filter(programme=world.programme).update(
        retention={"delivery_records": "30 days", "untouched_women": "30 days", "not_eligible_women": "1 year"})
    women = Woman.objects.filter(programme=world.programme).count()
    html = page(world.dpo).content.decode()
    assert "The Trust&#x27;s records in the portal" in html
    assert "Women the rules do not propose and no one has acted on" in html and "Women decided not eligible" in html
    response = sign_in_verified(Client(), world.dpo).post(reverse("dpo:retention-preview"), follow=True)
    html = response.content.decode()
    assert 'id="preview-trust-copy"' in html and "the next run would remove" in html
    assert Woman.objects.filter(programme=world.programme).count() == women
    assert AuditEntry.objects.filter(actor=world.dpo, reason__contains="dry run").count() >= 2
