"""Safeguarding concerns follow the Trust's retention (issue 22, point 4): a closed concern is handed
to the Trust as a document for its case record and marked as filed by a Trust lead; until then
Pause's retention keeps it (and the released woman it is about) and says so in each run; erasure
never removes it. Downloads and filing are audited; nobody but a Trust lead of the programme does
either. All data is synthetic."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, AuditSubject, Event
from eligibility.models import Woman
from pause_portal.tenancy.roles import Role
from pseudonymisation.fields import Protector
from sharing.concern_hand_over import mark_filed
from sharing.concerns import close_concern, raise_concern
from sharing.models_delivery import Participation, ReleasedWoman, SafeguardingConcern
from sharing.models_scoping import Agreement
from sharing.retention import apply_retention
from tests.audit.oversight.test_rights_world import rights_world
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world, person_in

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
T0 = datetime(2025, 1, 10, 10, tzinfo=TZ)
RUN_AT = datetime(2025, 9, 1, 3, tzinfo=TZ)  # well past every period below
SCHEDULE = {"released_women": "60 days", "contact_attempts": "6 months", "closed_concerns": "30 days",
            "ended_assignments": "90 days", "report_drafts": "30 days"}


def closed_concern(world, released, summary: str, note: str) -> SafeguardingConcern:
    concern = raise_concern(released, by=world.pause_lead, kind="safeguarding", summary=summary)
    return close_concern(concern, by=world.trust_lead, closing_note=note)


def _exists(concern) -> bool:
    return SafeguardingConcern.objects.filter(pk=concern.pk).exists()


def _trust_id(woman: Woman) -> str:
    return woman.reveal(Protector.load(woman.programme_id, Woman.key_phase), "trust_person_id")


# --- retention -------------------------------------------------------------------------------------
def left_view_world():
    """Two released women on 10 January 2025: `gone` declined on 1 February (a concern about her
    closed on 20 January), `stays` takes part (a concern closed on 25 January)."""
    with time_machine.travel(T0, tick=False):
        world = delivery_world(women=2)
        Agreement.objects.filter(programme=world.programme).update(retention=SCHEDULE)
    gone, stays = world.released
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        about_gone = closed_concern(world, gone, "Synthetic concern about gone", "Synthetic note")
    with time_machine.travel(T0 + timedelta(days=15), tick=False):
        about_stays = closed_concern(world, stays, "Synthetic concern about stays", "Synthetic note")
    ReleasedWoman.objects.filter(pk=gone.pk).update(participation=Participation.DECLINED,
                                                    participation_ended_at=datetime(2025, 2, 1, tzinfo=TZ))
    return world, gone, stays, about_gone, about_stays


def test_a_concern_survives_until_the_trust_acknowledges_it():
    world, gone, stays, about_gone, about_stays = left_view_world()
    for _ in range(2):  # each run keeps it; the second deletes nothing either
        with time_machine.travel(RUN_AT, tick=False):
            run = apply_retention(world.programme, dry_run=False, trigger="test")
        assert _exists(about_gone) and _exists(about_stays)
        assert ReleasedWoman.objects.filter(pk=gone.pk).exists()  # the concern depends on her release
        assert run.deleted["closed_concerns"] == {"count": 0, "rows": {}, "awaiting_hand_over": 2}
        assert run.deleted["released_women"]["count"] == 0
        assert run.deleted["released_women"]["awaiting_hand_over"] == 1
        entry = AuditEntry.objects.get(object_pk=str(run.pk), reason__startswith=f"retention run #{run.pk}")
        assert "kept until the Trust files its concerns in its case record: released_women 1, closed_concerns 2" \
            in entry.reason

    mark_filed(about_gone, by=world.trust_lead)
    with time_machine.travel(RUN_AT, tick=False):
        run = apply_retention(world.programme, dry_run=False, trigger="test")
    assert not _exists(about_gone) and not ReleasedWoman.objects.filter(pk=gone.pk).exists()
    assert _exists(about_stays)  # not filed: still kept
    assert run.deleted["released_women"]["count"] == 1 and run.deleted["released_women"]["awaiting_hand_over"] == 0
    assert run.deleted["closed_concerns"]["awaiting_hand_over"] == 1

    mark_filed(about_stays, by=world.trust_lead)
    for expected in (1, 0):  # the closed-concerns rule deletes it once; a second run deletes nothing
        with time_machine.travel(RUN_AT, tick=False):
            run = apply_retention(world.programme, dry_run=False, trigger="test")
        assert run.deleted["closed_concerns"]["count"] == expected
        assert run.deleted["closed_concerns"]["awaiting_hand_over"] == 0
        assert run.deleted["released_women"]["count"] == 0
    assert not _exists(about_stays) and ReleasedWoman.objects.filter(pk=stays.pk).exists()


def test_a_filed_concern_still_waits_for_pauses_period():
    world, gone, stays, about_gone, about_stays = left_view_world()
    mark_filed(about_stays, by=world.trust_lead)
    with time_machine.travel(about_stays.closed_at + timedelta(days=29), tick=False):
        run = apply_retention(world.programme, dry_run=False, trigger="test")
    assert _exists(about_stays) and run.deleted["closed_concerns"]["count"] == 0


def test_a_dry_run_counts_what_is_kept_for_the_trust_and_changes_nothing():
    world, gone, stays, about_gone, about_stays = left_view_world()
    mark_filed(about_stays, by=world.trust_lead)
    with time_machine.travel(RUN_AT, tick=False):
        run = apply_retention(world.programme, dry_run=True, trigger="test")
    assert run.deleted["closed_concerns"]["count"] == 1 and run.deleted["closed_concerns"]["awaiting_hand_over"] == 1
    assert _exists(about_gone) and _exists(about_stays)


# --- the action ------------------------------------------------------------------------------------
def test_only_a_closed_concern_is_filed_and_only_once():
    world = delivery_world(women=1)
    concern = raise_concern(world.released[0], by=world.pause_lead, kind="safeguarding", summary="Synthetic")
    with pytest.raises(ValidationError):
        mark_filed(concern, by=world.trust_lead)
    concern = close_concern(concern, by=world.trust_lead, closing_note="Synthetic")
    mark_filed(concern, by=world.trust_lead)
    with pytest.raises(ValidationError):
        mark_filed(concern, by=world.trust_lead)


def test_the_database_refuses_a_filed_concern_that_is_not_closed_or_half_recorded():
    world = delivery_world(women=1)
    concern = raise_concern(world.released[0], by=world.pause_lead, kind="safeguarding", summary="Synthetic")
    for change in ({"filed_by": world.trust_lead, "filed_at": timezone.now()},  # open, yet filed
                   {"filed_by": world.trust_lead}):  # who without when
        with pytest.raises(IntegrityError), transaction.atomic():
            SafeguardingConcern.objects.filter(pk=concern.pk).update(**change)


@pytest.mark.parametrize("role", [Role.PAUSE_LEAD, Role.PAUSE_PRACTITIONER, Role.DPO, Role.TRUST_CASEWORKER,
                                  Role.CALDICOTT_GUARDIAN])
def test_nobody_but_a_trust_lead_files_one(role):
    world = delivery_world(women=1)
    concern = closed_concern(world, world.released[0], "Synthetic", "Synthetic")
    with pytest.raises(PermissionDenied):
        mark_filed(concern, by=person_in(world, role))
    concern.refresh_from_db()
    assert concern.filed_at is None and concern.filed_by is None


def test_filing_rolls_back_when_the_audit_write_fails(monkeypatch):
    world = delivery_world(women=1)
    concern = closed_concern(world, world.released[0], "Synthetic", "Synthetic")

    def broken(*args, **kwargs):
        raise RuntimeError("audit write failed")

    monkeypatch.setattr("sharing.concern_hand_over.record_event", broken)
    with pytest.raises(RuntimeError):
        mark_filed(concern, by=world.trust_lead)
    concern.refresh_from_db()
    assert concern.filed_at is None


# --- the pages -------------------------------------------------------------------------------------
def two_concerns():
    world = delivery_world(women=2)
    her, other = world.released
    mine = closed_concern(world, her, "Synthetic: HER-SUMMARY-7731", "Synthetic: HER-NOTE-7731")
    theirs = closed_concern(world, other, "Synthetic: OTHER-SUMMARY-4410", "Synthetic: OTHER-NOTE-4410")
    return world, her, other, mine, theirs


def test_the_download_holds_exactly_that_concern_and_no_other_womans_data():
    world, her, other, mine, theirs = two_concerns()
    url = reverse("casework:hand-over", args=[mine.pk])
    mark = AuditEntry.objects.order_by("-pk").first().pk
    response = sign_in_verified(Client(), world.trust_lead).get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Disposition"] == (f'attachment; filename="pause-safeguarding-{mine.pk}-for-the-trust-'
                                               'case-record.html"')
    document = response.content.decode()
    assert "HER-SUMMARY-7731" in document and "HER-NOTE-7731" in document
    assert f'<dd id="trust-person-id">{_trust_id(her.woman)}</dd>' in document
    assert '<dd id="raised-by">Pause lead</dd>' in document
    assert '<dd id="status">Closed</dd>' in document
    assert "Article 6" in document or "6(1)" in document  # the lawful bases, in words
    assert "script-src &#x27;none&#x27;" in document  # nothing in it may run
    for absent in ("OTHER-SUMMARY-4410", "OTHER-NOTE-4410", _trust_id(other.woman),
                   world.pause_lead.full_name, world.trust_lead.full_name):
        assert absent not in document
    her_name = her.woman.reveal(Protector.load(her.programme_id, Woman.key_phase), "forename")
    assert her_name not in document  # filed by the Trust's own id, not her name
    entry = AuditEntry.objects.get(pk__gt=mark, event=Event.DISCLOSURE, page=url)
    subjects = set(AuditSubject.objects.filter(entry=entry).values_list("subject", flat=True))
    assert f"sharing.safeguardingconcern:{mine.pk}" in subjects
    assert f"sharing.safeguardingconcern:{theirs.pk}" not in subjects
    assert "downloaded for the Trust's case record" in entry.reason


def test_an_open_concern_has_no_hand_over_yet():
    world = delivery_world(women=1)
    concern = raise_concern(world.released[0], by=world.pause_lead, kind="safeguarding", summary="Synthetic")
    client = sign_in_verified(Client(), world.trust_lead)
    assert client.get(reverse("casework:hand-over", args=[concern.pk])).status_code == 404
    assert client.post(reverse("casework:filed", args=[concern.pk])).status_code == 404


def test_marking_as_filed_asks_first_then_is_recorded():
    world, her, other, mine, theirs = two_concerns()
    client = sign_in_verified(Client(), world.trust_lead)
    url = reverse("casework:filed", args=[mine.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"Yes, it is filed in the Trust's case record" in page.content
    mine.refresh_from_db()
    assert mine.filed_at is None  # asking changes nothing
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("casework:concerns")
    mine.refresh_from_db()
    assert mine.filed_by == world.trust_lead and mine.filed_at is not None
    entry = AuditEntry.objects.filter(event=Event.CHANGE, actor=world.trust_lead,
                                      reason__startswith=f"safeguarding #{mine.pk} filed").order_by("-pk").first()
    assert entry is not None and "filed in the Trust's case record" in entry.reason
    again = client.post(url)
    assert b"already filed in the Trust" in again.content


def test_the_trust_leads_list_offers_download_and_filing_for_each_awaiting_one():
    world, her, other, mine, theirs = two_concerns()
    mark_filed(theirs, by=world.trust_lead)
    page = sign_in_verified(Client(), world.trust_lead).get(reverse("casework:concerns")).content.decode()
    assert 'id="awaiting-hand-over"' in page
    assert reverse("casework:hand-over", args=[mine.pk]) in page and reverse("casework:filed", args=[mine.pk]) in page
    assert reverse("casework:hand-over", args=[theirs.pk]) not in page  # filed: no longer awaiting
    pause_page = sign_in_verified(Client(), world.pause_lead).get(reverse("casework:concerns")).content.decode()
    assert 'id="awaiting-hand-over"' not in pause_page and reverse("casework:filed", args=[mine.pk]) not in pause_page


@pytest.mark.parametrize("role", [Role.PAUSE_LEAD, Role.PAUSE_PRACTITIONER, Role.DPO, Role.TRUST_CASEWORKER,
                                  Role.CALDICOTT_GUARDIAN])
def test_nobody_but_a_trust_lead_downloads_or_files_one(role):
    world, her, other, mine, theirs = two_concerns()
    world.assign(her, world.practitioners[0])  # her practitioner sees her, and still may not
    client = sign_in_verified(Client(), person_in(world, role))
    mark = AuditEntry.objects.order_by("-pk").first().pk
    download = reverse("casework:hand-over", args=[mine.pk])
    filed = reverse("casework:filed", args=[mine.pk])
    assert client.get(download).status_code in (403, 404)
    assert client.get(filed).status_code in (403, 404)
    assert client.post(filed).status_code in (403, 404)
    mine.refresh_from_db()
    assert mine.filed_at is None
    assert not AuditEntry.objects.filter(pk__gt=mark, event=Event.DISCLOSURE, page__in=[download, filed]).exists()


def test_anonymous_people_are_sent_to_sign_in():
    world, her, other, mine, theirs = two_concerns()
    response = Client().get(reverse("casework:hand-over", args=[mine.pk]))
    assert response.status_code == 302 and "sign-in" in response["Location"]


# --- erasure ---------------------------------------------------------------------------------------
def test_erasure_leaves_the_concern_for_the_trust_to_file():
    w = rights_world(women=2)
    world = w.delivery
    her = world.released[0]
    trust_id = _trust_id(her.woman)
    concern = closed_concern(world, her, "Synthetic: ERASED-SUMMARY-5150", "Synthetic: ERASED-NOTE-5150")
    record = w.erase(w.request("erasure"))
    assert not ReleasedWoman.objects.filter(pk=her.pk).exists() and not Woman.objects.filter(pk=her.woman_id).exists()
    concern.refresh_from_db()  # it survives, detached from her record
    assert concern.released_woman_id is None and concern.filed_at is None
    assert "sharing.SafeguardingConcern" not in record.erased
    assert any("Safeguarding concerns" in k["what"] and k["count"] == 1 for k in record.kept)

    client = sign_in_verified(Client(), world.trust_lead)
    page = client.get(reverse("casework:concern", args=[concern.pk]))
    assert page.status_code == 200 and b'id="concern-detached"' in page.content
    assert f'id="trust-person-id">{trust_id}</dd>'.encode() in page.content
    document = client.get(reverse("casework:hand-over", args=[concern.pk])).content.decode()
    assert "ERASED-SUMMARY-5150" in document and f'<dd id="trust-person-id">{trust_id}</dd>' in document
    assert client.post(reverse("casework:filed", args=[concern.pk])).status_code == 302

    Agreement.objects.filter(programme=world.programme).update(retention=SCHEDULE)
    for expected in (1, 0):
        with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
            run = apply_retention(world.programme, dry_run=False, trigger="test")
        assert run.deleted["closed_concerns"]["count"] == expected
    assert not _exists(concern)


def test_erasure_is_refused_while_a_concern_is_open_and_removes_nothing():
    from audit.oversight.erasure import refusal

    w = rights_world(women=1)
    her = w.delivery.released[0]
    concern = raise_concern(her, by=w.delivery.pause_lead, kind="safeguarding", summary="Synthetic")
    rr = w.request("erasure")
    assert "safeguarding concern" in refusal(rr)
    assert _exists(concern)
