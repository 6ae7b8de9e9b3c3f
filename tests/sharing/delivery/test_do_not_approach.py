"""The do-not-approach marker (issue 22, point 5): a decline or withdrawal leaves a marker with a
blind index only, for the agreement's period; it outlives the retention of her release; the
release page shows it and a release without the Trust's reason to approach her again is refused;
it expires, and the retention run sweeps it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from eligibility.models import Woman
from pseudonymisation import keys
from pseudonymisation.fields import Protector
from pseudonymisation.keys import KeyScope
from pseudonymisation.models import Purpose
from pseudonymisation.reencryption import reencrypt_model
from sharing.agreements import RETENTION_STORES, validate_agreement
from sharing.contact import record_contact
from sharing.delivery_release import DeliveryReleaseRefused, ToRelease, release_for_delivery
from sharing.do_not_approach import live_markers
from sharing.models_delivery import ReleasedWoman
from sharing.models_markers import DoNotApproachMarker, MarkerKind
from sharing.models_scoping import Agreement
from sharing.retention import apply_retention
from sharing.views.delivery_trust import releasable_for_delivery
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world
from tests.sharing.test_governance_agreements import valid_values

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
T0 = datetime(2025, 1, 10, 10, tzinfo=TZ)
ENDED = T0 + timedelta(days=2)
RETENTION = {"delivery_records": "60 days", "do_not_approach": "2 years"}


def contact(released, by, outcome: str, at: datetime):
    with time_machine.travel(at, tick=False):
        return record_contact(released, by=by, contacted_on=timezone.localdate(), method="phone", outcome=outcome,
                              privacy_information_given=True)


def declined_world(retention=None, outcome="declined"):
    """One woman released on T0, in a practitioner's caseload, who declines (or agrees, then
    withdraws) on ENDED."""
    with time_machine.travel(T0, tick=False):
        world = delivery_world(women=1)
        Agreement.objects.filter(programme=world.programme).update(retention=retention or RETENTION)
        world.assign(world.released[0])
    if outcome == "withdrew":
        contact(world.released[0], world.practitioners[0], "agreed", ENDED - timedelta(days=1))
    contact(world.released[0], world.practitioners[0], outcome, ENDED)
    return world


def page(world) -> str:
    return sign_in_verified(Client(), world.trust_lead).get(reverse("delivery:release")).content.decode()


def test_the_marker_blocks_a_silent_re_release():
    world = declined_world()
    woman = world.released[0].woman
    [marker] = DoNotApproachMarker.objects.all()
    assert (marker.kind, marker.ended_at, marker.period) == (MarkerKind.DECLINED, ENDED, "2 years (agreement)")
    assert marker.until == ENDED.replace(year=2027)

    with time_machine.travel(ENDED + timedelta(days=30 + 60 + 5), tick=False):  # out of view 60 days and more
        run = apply_retention(world.programme, dry_run=False, trigger="command")
    assert run.deleted["released_women"]["count"] == 1 and run.deleted["do_not_approach"]["count"] == 0
    assert not ReleasedWoman.objects.exists()
    assert DoNotApproachMarker.objects.get() == marker  # retention of her release leaves the marker
    assert woman in releasable_for_delivery(world.programme)  # the rules would release her again

    shown = page(world)
    assert "She declined Pause on 12 January 2025: do not approach her again before 12 January 2027." in shown
    assert f'id="marker-{woman.pk}"' in shown

    changes = AuditEntry.objects.filter(event=Event.CHANGE).count()
    response = sign_in_verified(Client(), world.trust_lead).post(reverse("delivery:release"), {
        "women": [woman.pk], f"address_{woman.pk}": "1 Made-up Lane", "trust_contact": world.trust_lead.pk})
    assert response.status_code == 400
    assert "say why the Trust has decided to approach her again" in response.content.decode()
    assert not ReleasedWoman.objects.exists() and AuditEntry.objects.filter(event=Event.CHANGE).count() == changes

    with pytest.raises(DeliveryReleaseRefused) as refused:
        release_for_delivery(world.programme, [ToRelease(woman, "1 Made-up Lane")], by=world.trust_lead,
                             trust_contact=world.trust_lead)
    assert "She declined Pause on 12 January 2025: do not approach her again before 12 January 2027" \
        in " ".join(refused.value.problems)
    assert not ReleasedWoman.objects.exists()

    response = sign_in_verified(Client(), world.trust_lead).post(reverse("delivery:release"), {
        "women": [woman.pk], f"address_{woman.pk}": "1 Made-up Lane", "trust_contact": world.trust_lead.pk,
        f"approach_again_{woman.pk}": "She asked her social worker to be referred to Pause"})
    assert response.status_code == 302
    released = ReleasedWoman.objects.get()
    marker.refresh_from_db()
    assert marker.set_aside_by == world.trust_lead and marker.set_aside_at == released.released_at
    entry = AuditEntry.objects.get(event=Event.CHANGE, reason__startswith=f"delivery release #{released.release_id}")
    assert (f"approached again despite do-not-approach marker #{marker.pk} (declined 2025-01-12, until 2027-01-12), "
            "set aside: She asked her social worker to be referred to Pause") in entry.reason
    assert live_markers(world.programme.pk, [woman]) == {}  # set aside: no longer shown


def test_a_reason_is_refused_for_a_woman_without_a_marker():
    world = delivery_world(women=0)
    [woman] = world.women(1)
    with pytest.raises(DeliveryReleaseRefused) as refused:
        release_for_delivery(world.programme, [ToRelease(woman, "1 Lane", "because")], by=world.trust_lead,
                             trust_contact=world.trust_lead)
    assert "she has no do-not-approach marker" in " ".join(refused.value.problems)


def test_the_marker_holds_no_readable_identifier():
    world = declined_world()
    woman = world.released[0].woman
    keys = Protector.load(woman.programme_id, Woman.key_phase)
    readable = [woman.reveal(keys, f) for f in ("trust_person_id", "nhs_number", "forename", "surname", "postcode")]
    readable.append(woman.reveal(keys, "date_of_birth"))
    assert all(readable)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {DoNotApproachMarker._meta.db_table}")
        columns = [c[0] for c in cursor.description]
        [row] = cursor.fetchall()
    assert sorted(columns) == sorted(["id", "programme_id", "person_id_index", "kind", "ended_at", "until", "period",
                                      "set_aside_at", "set_aside_by_id"])  # nothing that points at her records
    cells = " ".join(str(cell) for cell in row)
    for value in readable:
        assert str(value).lower() not in cells.lower(), value
    values = dict(zip(columns, row, strict=True))
    assert values["person_id_index"] == woman.person_id_index and values["person_id_index"].startswith("v")


def test_the_marker_expires_after_the_agreements_period():
    world = declined_world({**RETENTION, "do_not_approach": "6 months"})
    woman = world.released[0].woman
    [marker] = DoNotApproachMarker.objects.all()
    assert marker.until == ENDED.replace(month=7) and marker.period == "6 months (agreement)"
    assert live_markers(world.programme.pk, [woman], now=ENDED.replace(month=7) - timedelta(minutes=1))
    assert not live_markers(world.programme.pk, [woman], now=ENDED.replace(month=7))
    with time_machine.travel(ENDED + timedelta(days=100), tick=False):  # her release goes, the marker stays
        apply_retention(world.programme, dry_run=False, trigger="command")
    assert DoNotApproachMarker.objects.exists()
    shown = page(world)  # now (after July 2025): the marker has run out
    assert "do not approach her again" not in shown and f'id="marker-{woman.pk}"' not in shown
    with time_machine.travel(ENDED.replace(month=7) + timedelta(days=1), tick=False):
        dry = apply_retention(world.programme, dry_run=True, trigger="command")
        assert dry.deleted["do_not_approach"]["count"] == 1 and DoNotApproachMarker.objects.exists()
        run = apply_retention(world.programme, dry_run=False, trigger="command")
        again = apply_retention(world.programme, dry_run=False, trigger="command")
    assert run.deleted["do_not_approach"] == {"count": 1, "rows": {"sharing.DoNotApproachMarker": 1}}
    assert again.deleted["do_not_approach"]["count"] == 0 and not DoNotApproachMarker.objects.exists()
    entry = AuditEntry.objects.get(object_pk=str(run.pk), reason__startswith=f"retention run #{run.pk}")
    assert "do_not_approach 1" in entry.reason
    release_for_delivery(world.programme, [ToRelease(woman, "1 Lane")], by=world.trust_lead,
                         trust_contact=world.trust_lead)  # no marker: released without a reason


def test_an_agreement_without_a_period_gets_the_default_of_two_years():
    declined_world({"delivery_records": "60 days"})
    marker = DoNotApproachMarker.objects.get()
    assert marker.period == "2 years (default)" and marker.until == ENDED.replace(year=2027)


def test_a_withdrawal_leaves_a_withdrew_marker_and_is_said_so():
    world = declined_world(outcome="withdrew")
    marker = DoNotApproachMarker.objects.get()
    assert marker.kind == MarkerKind.WITHDREW
    woman = world.released[0].woman
    ReleasedWoman.objects.filter(pk=world.released[0].pk).update(withdrawn_at=ENDED, withdrawn_by=world.trust_lead)
    entry = AuditEntry.objects.filter(event=Event.CHANGE, reason__contains="do-not-approach marker").get()
    assert f"do-not-approach marker #{marker.pk} until 2027-01-12 (2 years (agreement))" in entry.reason
    assert live_markers(world.programme.pk, [woman])[woman.pk] == marker


def test_a_second_decline_leaves_no_second_marker():
    world = declined_world()
    contact(world.released[0], world.practitioners[0], "declined", ENDED + timedelta(days=3))
    assert DoNotApproachMarker.objects.count() == 1


def test_a_failed_audit_write_leaves_no_marker_and_sets_none_aside(monkeypatch):
    with time_machine.travel(T0, tick=False):
        world = delivery_world(women=1)
        Agreement.objects.filter(programme=world.programme).update(retention=RETENTION)
        world.assign(world.released[0])

    def broken(*args, **kwargs):
        raise RuntimeError("audit unavailable")

    with monkeypatch.context() as patched:
        patched.setattr("sharing.contact.record_event", broken)
        with pytest.raises(RuntimeError):
            contact(world.released[0], world.practitioners[0], "declined", ENDED)
    assert not DoNotApproachMarker.objects.exists()

    contact(world.released[0], world.practitioners[0], "declined", ENDED)
    with time_machine.travel(ENDED + timedelta(days=95), tick=False):
        apply_retention(world.programme, dry_run=False, trigger="command")
    assert not ReleasedWoman.objects.exists()
    woman = world.released[0].woman
    monkeypatch.setattr("sharing.delivery_release.record_event", broken)
    with pytest.raises(RuntimeError):
        release_for_delivery(world.programme, [ToRelease(woman, "1 Lane", "She asked to be referred")],
                             by=world.trust_lead, trust_contact=world.trust_lead)
    assert DoNotApproachMarker.objects.get().set_aside_at is None and not ReleasedWoman.objects.exists()


def test_an_agreement_whose_do_not_approach_period_cannot_be_applied_is_refused():
    retention = {store: "2 years" for store in RETENTION_STORES} | {"do_not_approach": "until she asks"}
    with pytest.raises(ValidationError) as refused:
        validate_agreement(valid_values(retention=retention), based_on=None, change_reason="")
    assert refused.value.message_dict["retention_do_not_approach"][0].startswith(
        "The do-not-approach period: \u201cuntil she asks\u201d is not a period the portal can apply")
    values = validate_agreement(valid_values(retention={**retention, "do_not_approach": "18 months"}),
                                based_on=None, change_reason="")
    assert values["retention"]["do_not_approach"] == "18 months"


def test_a_marker_still_finds_her_after_the_blind_index_key_rotates():
    world = declined_world()
    woman, marker = world.released[0].woman, DoNotApproachMarker.objects.get()
    keys.rotate(KeyScope(world.programme.pk, Woman.key_phase, Purpose.BLIND_INDEX))
    reencrypt_model(Woman)
    woman = Woman.objects.get(pk=woman.pk)
    assert marker.person_id_index.startswith("v1:") and woman.person_id_index.startswith("v2:")
    assert live_markers(world.programme.pk, [woman]) == {woman.pk: marker}
    [other] = world.women(1)  # no marker: not matched under either version
    assert live_markers(world.programme.pk, [woman, other]) == {woman.pk: marker}
