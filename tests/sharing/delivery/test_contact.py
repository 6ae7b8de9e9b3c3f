"""Contact and participation: the action's rules (who, what date, which outcome, the privacy
information), what it does to her participation, the prompts, and the decline-then-30-days rule
with frozen time."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, AuditSubject, Event
from pause_portal.tenancy.selectors import membership_in
from sharing.concerns import close_concern, raise_concern
from sharing.contact import prompts_for, record_contact
from sharing.delivery_access import visible_released_women
from sharing.models_delivery import ContactAttempt, Participation, ReleasedWoman
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import one_each_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return one_each_world()


def contact(released, by, **overrides):
    values = dict(contacted_on=timezone.localdate(), method="phone", outcome="agreed", privacy_information_given=True,
                  note="")
    values.update(overrides)
    return record_contact(released, by=by, **values)


def fresh(released) -> ReleasedWoman:
    return ReleasedWoman.objects.get(pk=released.pk)


def refused(released, by, field, **overrides) -> str:
    before = (ContactAttempt.objects.count(), fresh(released).participation, fresh(released).participation_ended_at,
              fresh(released).privacy_information_given_at, AuditEntry.objects.filter(event=Event.CHANGE).count())
    with pytest.raises(ValidationError) as e:
        contact(released, by, **overrides)
    after = (ContactAttempt.objects.count(), fresh(released).participation, fresh(released).participation_ended_at,
             fresh(released).privacy_information_given_at, AuditEntry.objects.filter(event=Event.CHANGE).count())
    assert after == before, "a refused attempt changed something"
    return e.value.message_dict[field][0]


def test_agreeing_with_the_privacy_information_records_both_and_an_audit_entry(world):
    her, practitioner = world.released[0], world.practitioners[0]
    attempt = contact(her, practitioner, method="visit", note="Met at the family centre; she wants to start")
    her = fresh(her)
    assert her.participation == Participation.AGREED and her.participation_ended_at is None
    assert her.privacy_information_given_at is not None
    assert attempt.privacy_information_given and attempt.outcome == "agreed" and attempt.recorded_by == practitioner
    assert b"family centre" not in bytes(attempt.note)  # encrypted at rest
    entry = AuditEntry.objects.get(event=Event.CHANGE, actor=practitioner, reason__startswith=f"contact attempt #{attempt.pk} ")
    assert "participation not_contacted -> agreed" in entry.reason and "privacy information given" in entry.reason
    assert "family centre" not in entry.reason
    assert set(AuditSubject.objects.filter(entry=entry).values_list("subject", flat=True)) == {
        f"sharing.releasedwoman:{her.pk}"}
    assert prompts_for(her).contact is False and prompts_for(her).privacy_information is False


def test_first_reach_must_answer_the_privacy_question_and_no_keeps_prompting(world):
    her, practitioner = world.released[0], world.practitioners[0]
    assert prompts_for(her).contact is True
    message = refused(her, practitioner, "privacy_information_given", privacy_information_given=None)
    assert message == "Say which privacy notices she was given, or Neither"
    contact(her, practitioner, privacy_information_given=False)
    her = fresh(her)
    assert her.participation == Participation.AGREED and her.privacy_information_given_at is None
    assert prompts_for(her).privacy_information is True
    # Still asked at the next contact where she is reached...
    refused(her, practitioner, "privacy_information_given", privacy_information_given=None)
    # ...but not when she is not reached.
    contact(her, practitioner, outcome="not_reached", privacy_information_given=None)
    assert fresh(her).participation == Participation.AGREED
    contact(her, practitioner, privacy_information_given=True)
    first = fresh(her).privacy_information_given_at
    assert first is not None and prompts_for(fresh(her)).privacy_information is False
    # Once given, the question is optional and the first date stands.
    contact(her, practitioner, privacy_information_given=None)
    contact(her, practitioner, privacy_information_given=True)
    assert fresh(her).privacy_information_given_at == first


def test_bad_input_is_refused_with_a_clear_reason_and_nothing_changes(world):
    her, practitioner = world.released[0], world.practitioners[0]
    today = timezone.localdate()
    assert refused(her, practitioner, "contacted_on", contacted_on=today + timedelta(days=1)) == (
        "The date of contact must be today or in the past")
    assert "on or after the day she was released" in refused(her, practitioner, "contacted_on",
                                                             contacted_on=today - timedelta(days=3))
    assert refused(her, practitioner, "contacted_on", contacted_on=None) == "Enter the date of contact"
    assert refused(her, practitioner, "method", method="carrier pigeon") == "Choose how you tried to contact her"
    assert refused(her, practitioner, "outcome", outcome="not_contacted") == "Choose what came of the attempt"
    assert "cannot withdraw" in refused(her, practitioner, "outcome", outcome="withdrew")
    assert "cannot have been given" in refused(her, practitioner, "privacy_information_given",
                                               outcome="not_reached", privacy_information_given=True)
    assert "2000 characters" in refused(her, practitioner, "note", note="x" * 2001)
    contact(her, practitioner)
    assert "choose 'Withdrew'" in refused(her, practitioner, "outcome", outcome="declined")


def test_only_her_practitioner_records_contact(world):
    her = world.released[0]
    for person in (world.practitioners[1], world.pause_lead, world.trust_lead, world.caldicott):
        with pytest.raises(PermissionDenied):
            contact(her, person)
    assert not ContactAttempt.objects.exists() and fresh(her).participation == Participation.NOT_CONTACTED


def test_participation_follows_the_outcomes(world):
    her, practitioner = world.released[0], world.practitioners[0]
    contact(her, practitioner, outcome="not_reached", privacy_information_given=None)
    assert fresh(her).participation == Participation.NOT_REACHED and prompts_for(fresh(her)).contact
    contact(her, practitioner, outcome="declined", privacy_information_given=False)
    declined = fresh(her)
    assert declined.participation == Participation.DECLINED and declined.participation_ended_at is not None
    assert prompts_for(declined) == prompts_for(declined).__class__(contact=False, privacy_information=False)
    # Not reaching her again, or a second decline, does not restart the 30 days.
    contact(her, practitioner, outcome="not_reached", privacy_information_given=None)
    contact(her, practitioner, outcome="declined", privacy_information_given=False)
    assert fresh(her).participation_ended_at == declined.participation_ended_at
    # She changes her mind: agreeing clears the end.
    contact(her, practitioner, outcome="agreed", privacy_information_given=True)
    assert fresh(her).participation == Participation.AGREED and fresh(her).participation_ended_at is None
    contact(her, practitioner, outcome="withdrew")
    assert fresh(her).participation == Participation.WITHDREW and fresh(her).participation_ended_at is not None
    assert ContactAttempt.objects.filter(released_woman=her).count() == 6


def test_a_failed_audit_write_rolls_the_attempt_back(world, monkeypatch):
    her, practitioner = world.released[0], world.practitioners[0]

    def broken(*args, **kwargs):
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr("sharing.contact.record_event", broken)
    with pytest.raises(RuntimeError):
        contact(her, practitioner)
    assert not ContactAttempt.objects.exists()
    assert fresh(her).participation == Participation.NOT_CONTACTED and fresh(her).privacy_information_given_at is None


# --- decline, then 30 days, with frozen time ----------------------------------------------------
def _sees(person, world, her, moment) -> bool:
    """Whether `person` sees her at `moment`: by the predicate and through the casework page."""
    with time_machine.travel(moment, tick=False):
        by_predicate = visible_released_women(person, membership_in(person, world.programme.pk)).filter(
            pk=her.pk).exists()
        status = sign_in_verified(Client(), person).get(reverse("casework:woman", args=[her.pk])).status_code
    assert status == (200 if by_predicate else 404)
    return by_predicate


def test_a_woman_who_declines_leaves_pauses_view_30_days_later(world):
    her, practitioner = world.released[0], world.practitioners[0]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        contact(her, practitioner, outcome="declined", privacy_information_given=True)
    for person in (practitioner, world.pause_lead):
        assert _sees(person, world, her, start + timedelta(days=29)), person
        assert _sees(person, world, her, start + timedelta(days=29, hours=23))
        assert not _sees(person, world, her, start + timedelta(days=31)), person
    other = world.released[1]
    assert _sees(world.pause_lead, world, other, start + timedelta(days=31))  # the other woman is unaffected


def test_an_open_concern_keeps_her_in_view_until_it_closes(world):
    her, practitioner = world.released[0], world.practitioners[0]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        contact(her, practitioner, outcome="agreed")
    with time_machine.travel(start + timedelta(days=2), tick=False):
        contact(her, practitioner, outcome="withdrew")
    with time_machine.travel(start + timedelta(days=20), tick=False):
        concern = raise_concern(her, by=practitioner, kind="safeguarding", summary="Synthetic concern that keeps her in view")
    day = start + timedelta(days=2)
    assert _sees(practitioner, world, her, day + timedelta(days=31))
    assert _sees(world.pause_lead, world, her, day + timedelta(days=90))
    with time_machine.travel(day + timedelta(days=91), tick=False):
        close_concern(concern, by=world.trust_lead, closing_note="Synthetic: handled by the Trust")
    assert not _sees(practitioner, world, her, day + timedelta(days=92))
    assert not _sees(world.pause_lead, world, her, day + timedelta(days=92))
