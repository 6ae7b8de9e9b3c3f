"""The email that tells the Trust leads a concern awaits them: sent after the concern is
committed, to every active Trust lead of the programme and nobody else, and — rendered for a
seeded woman whose identifiers are known — carrying no name, NHS number, Trust id, date of
birth, postcode, address, token or word of the concern; its one link is the concerns list."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry, Event
from eligibility.models import Woman
from pause_portal.tenancy.roles import Role
from pseudonymisation.fields import Protector
from sharing.actions import deactivate_person
from sharing.concerns import close_concern, raise_concern, tell_trust_leads
from sharing.models_delivery import ReleasedChild, SafeguardingConcern
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    world = delivery_world(women=1)
    world.assign(world.released[0], world.practitioners[0])
    world.second_lead = member(world.programme, Role.TRUST_LEAD)
    gone = member(world.programme, Role.TRUST_LEAD)
    deactivate_person(person=gone, by=f.person(world.programme.trust, system_admin=True))
    pending = f.MembershipFactory(programme=world.programme, role=Role.TRUST_LEAD, pending=True,
                                  requested_by=world.caldicott).person
    world.not_told = [gone, pending, world.caldicott, world.pause_lead, *world.practitioners,
                      member(world.programme, Role.DPO), member(world.programme, Role.TRUST_CASEWORKER),
                      delivery_world(women=0).trust_lead]
    return world


def secrets_of(world) -> list[str]:
    """Everything about the woman that must never reach an email: the cohort's identifiers, and
    her address, children's tokens and record references."""
    released = world.released[0]
    protector = Protector.load(world.programme.pk, Woman.key_phase)
    address = released.reveal(Protector.load(world.programme.pk, released.key_phase), "address")
    tokens = list(ReleasedChild.objects.filter(released_woman=released).values_list("token", flat=True))
    assert address and tokens and world.cohort.identifiers
    return [*world.cohort.identifiers, address, *tokens, str(released.row_uid), str(released.woman.row_uid),
            released.woman.reveal(protector, "forename"), released.woman.reveal(protector, "surname")]


def names_of(world) -> tuple[str, str]:
    woman = world.released[0].woman
    protector = Protector.load(world.programme.pk, Woman.key_phase)
    return woman.reveal(protector, "forename"), woman.reveal(protector, "surname")


def test_raising_one_on_the_page_emails_each_active_trust_lead_and_nothing_identifies_her(world,
                                                                                         django_capture_on_commit_callbacks):
    forename, surname = names_of(world)
    summary = f"Synthetic: {forename} {surname} told me she is not safe at 10 Synthetic Row"
    client = sign_in_verified(Client(), world.practitioners[0])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("casework:raise", args=[world.released[0].pk]),
                               {"kind": "serious_incident", "pause_article_6": "art6_1_d", "pause_article_9": "art9_2_c", "summary": summary})
    concern = SafeguardingConcern.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("casework:concern", args=[concern.pk])
    assert sorted(m.to[0] for m in mail.outbox) == sorted([world.trust_lead.email, world.second_lead.email])
    assert not {p.email for p in world.not_told} & {m.to[0] for m in mail.outbox}
    forbidden = secrets_of(world) + [summary, "frightened", "not safe", "Serious incident", "serious_incident",
                                     "art9_2_c", world.practitioners[0].full_name]
    for message in mail.outbox:
        text = f"{message.subject}\n{message.body}\n" + "\n".join(str(v) for v in message.extra_headers.values())
        leaked = [s for s in forbidden if s and s.lower() in text.lower()]
        assert leaked == [], leaked
        assert re.findall(r"https?://\S+", text) == ["http://testserver" + reverse("casework:concerns")]
        assert world.programme.name in message.body and "awaits you" in message.subject
        assert not getattr(message, "alternatives", None) and not message.attachments
    entry = AuditEntry.objects.get(event=Event.CHANGE, reason__contains="Trust leads told by email")
    assert f"#{world.trust_lead.pk}" in entry.reason and f"#{world.second_lead.pk}" in entry.reason
    assert entry.programme == world.programme


def test_nothing_is_sent_before_the_commit_nor_when_it_rolls_back(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as pending:
        raise_concern(world.released[0], by=world.practitioners[0], kind="safeguarding", summary="Synthetic concern")
    assert len(pending) == 1 and mail.outbox == []  # queued for the commit, not sent inside the transaction
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            raise_concern(world.released[0], by=world.practitioners[0], kind="safeguarding",
                          summary="Synthetic concern that is rolled back")
            raise RuntimeError("the request failed after the concern was written")
    assert mail.outbox == [] and SafeguardingConcern.objects.count() == 1


def test_the_task_carries_only_the_concern_id_and_the_list_address(world, django_capture_on_commit_callbacks,
                                                                   monkeypatch):
    from sharing.tasks_casework import tell_trust_leads_of_concern

    sent = []
    real = tell_trust_leads_of_concern.apply_async

    def spy(args=None, kwargs=None, **options):
        sent.append((args, kwargs))
        return real(args=args, kwargs=kwargs, **options)

    monkeypatch.setattr(tell_trust_leads_of_concern, "apply_async", spy)
    with django_capture_on_commit_callbacks(execute=True):
        concern = raise_concern(world.released[0], by=world.practitioners[0], kind="safeguarding",
                                summary="Synthetic concern",
                                portal_url="https://portal.example/casework/concerns/")
    assert sent == [((concern.pk, "https://portal.example/casework/concerns/"), {})]
    assert len(mail.outbox) == 2 and "https://portal.example/casework/concerns/" in mail.outbox[0].body


def test_the_task_is_registered_with_the_worker():
    from pause_portal.celery import app

    app.loader.import_default_modules()
    assert "sharing.tell_trust_leads_of_concern" in app.tasks


def test_a_concern_closed_before_the_email_goes_sends_nothing(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        concern = raise_concern(world.released[0], by=world.practitioners[0], kind="safeguarding",
                                summary="Synthetic concern")
    close_concern(concern, by=world.trust_lead, closing_note="Synthetic: dealt with by phone")
    assert tell_trust_leads(concern_id=concern.pk) == 0 and mail.outbox == []
    assert tell_trust_leads(concern_id=999999) == 0


def test_without_an_address_the_email_says_where_to_look(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        raise_concern(world.released[0], by=world.pause_lead, kind="safeguarding", summary="Synthetic concern")
    body = mail.outbox[0].body
    assert "Safeguarding concerns and serious incidents" in body and "http" not in body


def test_a_programme_without_an_active_trust_lead_is_recorded(django_capture_on_commit_callbacks, caplog):
    world = delivery_world(women=1)
    deactivate_person(person=world.trust_lead, by=f.person(world.programme.trust, system_admin=True))
    with django_capture_on_commit_callbacks(execute=True):
        concern = raise_concern(world.released[0], by=world.pause_lead, kind="safeguarding",
                                summary="Synthetic concern")
    assert mail.outbox == []
    assert AuditEntry.objects.filter(reason=f"safeguarding #{concern.pk}: no active Trust lead to tell by email").exists()
    assert f"concern #{concern.pk}: no active Trust lead" in caplog.text
