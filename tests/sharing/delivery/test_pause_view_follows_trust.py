"""Pause's view follows the Trust, at once (issue 21, point 2; ADR 29).

Every way out of Pause's view, with frozen time and no worker: the Pause lead (women list, her
page) and her practitioner (caseload, her page, the caseload export) lose her on the very next
request, and a control woman released with her stays. A pending re-review and an unconfirmed
absence from the latest extract leave Pause's view only when the Trust lead has not settled them
within the deadline, and the Trust lead sees them on the "changes since release" page. An open
concern about a woman who left stays visible, alone, to its author and the Pause lead until closed.
All data is invented.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry
from eligibility.decisions import decide
from eligibility.models import Decision, Woman
from eligibility.recompute import recompute
from eligibility.restrictions import open_restriction
from pseudonymisation.fields import Protector
from sharing.concerns import close_concern, raise_concern
from sharing.delivery_changes import changes_since_release, confirm_absence, reinstate
from sharing.delivery_release import DeliveryReleaseRefused, withdraw_from_delivery
from sharing.models_delivery import AbsenceConfirmation, ReleasedWoman, ReleaseReinstatement
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)  # what the world's agreement gives the Trust lead (demo values)
PLACES = ("lead list", "lead page", "practitioner caseload", "practitioner page", "practitioner export")


class Setting:
    """Two released women in the first practitioner's caseload: `her` (who will leave) and the
    control."""

    def __init__(self):
        self.world = delivery_world(women=2)
        self.her, self.control = self.world.released
        self.world.assign(self.her)
        self.world.assign(self.control)
        keys = Protector.load(self.world.programme.pk, Woman.key_phase)
        self.names = {r.pk: r.woman.reveal(keys, "surname") for r in (self.her, self.control)}

    def seen(self, released: ReleasedWoman) -> set[str]:
        """Where Pause sees her now (each a fresh request by a freshly signed-in person)."""
        lead = sign_in_verified(Client(), self.world.pause_lead)
        practitioner = sign_in_verified(Client(), self.world.practitioners[0])
        name = self.names[released.pk]
        page = reverse("delivery:woman", args=[released.pk])
        where = {
            "lead list": name in lead.get(reverse("delivery:women")).content.decode(),
            "lead page": lead.get(page).status_code == 200,
            "practitioner caseload": name in practitioner.get(reverse("delivery:caseload")).content.decode(),
            "practitioner page": practitioner.get(page).status_code == 200,
            "practitioner export": name in practitioner.post(reverse("delivery:caseload-export")).content.decode(),
        }
        return {place for place, yes in where.items() if yes}

    def notices(self) -> tuple[str, str]:
        """The practitioner's "stop contact" notice and the Pause lead's count, each checked to
        give no reason."""
        caseload = sign_in_verified(Client(), self.world.practitioners[0]).get(reverse("delivery:caseload"))
        women = sign_in_verified(Client(), self.world.pause_lead).get(reverse("delivery:women"))
        out = []
        for response, marker in ((caseload, 'id="stop-contact"'), (women, 'id="withdrawn-by-trust"')):
            body = response.content.decode()
            if marker not in body:
                out.append("")
                continue
            notice = body.split(marker, 1)[1].split("</div>", 1)[0]
            for reason in ("eligib", "died", "death", "restrict", "decision", "extract", "review", "information"):
                assert reason not in notice.lower(), notice
            out.append(next(p for p in ("Stop contact with 1 woman assigned to you", "The Trust has withdrawn 1 woman")
                            if p in notice))
        return tuple(out)

    def both_see_her(self) -> bool:
        assert self.seen(self.control) == set(PLACES)  # the control stays, whatever happens to her
        seen = self.seen(self.her)
        assert seen in (set(), set(PLACES)), seen  # all or nothing: one predicate behind every page
        return seen == set(PLACES)


def _not_eligible(s: Setting):
    decide(woman=s.her.woman, by=s.world.trust_lead, outcome="not_eligible", reason="Synthetic: no longer eligible")


def _more_information(s: Setting):
    decide(woman=s.her.woman, by=s.world.trust_lead, outcome="more_information", reason="Synthetic: ask again")


def _died(s: Setting):
    # As an extract's import records it (the import writer sets the field on her record).
    Woman.objects.filter(pk=s.her.woman_id).update(died_on=date(2026, 3, 1))


def _restricted(s: Setting):
    open_restriction(woman=s.her.woman, reason="objection", by=s.world.trust_lead)


AT_ONCE = {"not eligible": _not_eligible, "needs more information": _more_information, "died": _died,
           "restricted": _restricted}


@pytest.mark.parametrize("way", list(AT_ONCE))
def test_she_leaves_every_pause_view_on_the_very_next_request(way):
    with time_machine.travel(T0, tick=False):
        s = Setting()
        assert s.both_see_her() and s.notices() == ("", "")
        AT_ONCE[way](s)
        assert not s.both_see_her()  # the same instant: no clock moved, no worker ran
        assert s.notices() == ("Stop contact with 1 woman assigned to you", "The Trust has withdrawn 1 woman")
        # Not a "change since release" to settle: she is out already.
        assert changes_since_release(s.world.programme) == []


def test_a_new_eligible_decision_keeps_her_and_at_risk_too():
    with time_machine.travel(T0, tick=False):
        s = Setting()
        decide(woman=s.her.woman, by=s.world.trust_lead, outcome="at_risk", reason="Synthetic: at risk now")
        assert s.both_see_her()


def _re_review(s: Setting):
    """New evidence about her from a newer extract, and a rules run that marks her decision."""
    recompute(s.world.programme, by=s.world.trust_lead)  # settles the baseline (nothing changed)
    s.world.cohort.book.episode(s.world.cohort.book.child(s.her.woman), "E13", date(2025, 6, 1))
    result = recompute(s.world.programme, by=s.world.trust_lead)
    assert result.marked_for_re_review == [s.her.woman_id]


def _absent(s: Setting):
    """A newer extract without her: the import marks her missing (as `mark_missing` does)."""
    f.ExtractFactory(programme=s.world.programme, uploaded_by=s.world.trust_lead, finished_at=T0 + timedelta(days=1))
    Woman.objects.filter(pk=s.her.woman_id).update(in_latest_extract=False)


LATER = {"unanswered re-review": (_re_review, "re_review"), "unconfirmed absence": (_absent, "absent")}


@pytest.mark.parametrize("way", list(LATER))
def test_an_unsettled_change_leaves_pause_view_at_its_deadline_and_the_trust_lead_is_prompted(way):
    make, kind = LATER[way]
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        s = Setting()
        make(s)
        assert s.both_see_her()  # not cut off at once
        [change] = changes_since_release(s.world.programme)
        assert (change.released, change.kind, change.overdue) == (s.her, kind, False)
        assert change.decide_by == T0 + timedelta(days=1) + WINDOW
        page = sign_in_verified(Client(), s.world.trust_lead).get(reverse("delivery:changes")).content.decode()
        assert f'id="change-{kind}-{s.her.pk}"' in page and s.names[s.her.pk] in page and "Still sees her" in page
        assert s.names[s.control.pk] not in page
    with time_machine.travel(change.decide_by - timedelta(seconds=1), tick=False):
        assert s.both_see_her()
    with time_machine.travel(change.decide_by, tick=False):
        assert not s.both_see_her()  # the deadline passed: no worker ran, the next request decides
        assert s.notices() == ("Stop contact with 1 woman assigned to you", "The Trust has withdrawn 1 woman")
        page = sign_in_verified(Client(), s.world.trust_lead).get(reverse("delivery:changes")).content.decode()
        assert f'id="change-{kind}-{s.her.pk}"' in page and "No longer sees her" in page


def test_a_new_decision_settles_a_re_review_and_keeps_her_past_the_deadline():
    with time_machine.travel(T0, tick=False):
        s = Setting()
        _re_review(s)
        decide(woman=s.her.woman, by=s.world.trust_lead, outcome="eligible", reason="Synthetic: re-reviewed")
        assert changes_since_release(s.world.programme) == []
    with time_machine.travel(T0 + WINDOW * 2, tick=False):
        assert s.both_see_her()


def test_a_late_decision_alone_does_not_bring_back_a_woman_a_re_review_took_out():
    with time_machine.travel(T0, tick=False):
        s = Setting()
        _re_review(s)
    with time_machine.travel(T0 + WINDOW, tick=False):
        assert not s.both_see_her()
        decide(woman=s.her.woman, by=s.world.trust_lead, outcome="eligible", reason="Synthetic: re-reviewed late")
        assert not s.both_see_her()
        reinstate(s.her, by=s.world.trust_lead)
        assert s.both_see_her()


def test_a_new_eligible_decision_alone_does_not_bring_her_back_a_reinstatement_does_and_keeps_the_history():
    with time_machine.travel(T0, tick=False):
        s = Setting()
        shared_on = ReleasedWoman.objects.get(pk=s.her.pk).shared_on_decision
        assert shared_on == Decision.objects.filter(woman=s.her.woman).order_by("-pk").first()
        _not_eligible(s)
        again = decide(woman=s.her.woman, by=s.world.trust_lead, outcome="eligible", reason="Synthetic: eligible again")
        assert not s.both_see_her()
        client = sign_in_verified(Client(), s.world.trust_lead)
        page = client.get(reverse("delivery:changes")).content.decode()
        assert f'id="out-{s.her.pk}"' in page and f'id="out-{s.control.pk}"' not in page
        response = client.post(reverse("delivery:reinstate"), {"released": s.her.pk})
        assert response.status_code == 302 and response["Location"] == reverse("delivery:changes")
        assert s.both_see_her()
        message = client.get(reverse("delivery:changes")).content.decode()
        protector = Protector.load(s.her.programme_id, Woman.key_phase)
        name = f"{s.her.woman.reveal(protector, 'forename')} {s.her.woman.reveal(protector, 'surname')}"
        assert f"Reinstated: Pause sees {name} again." in message and "released woman #" not in message
        [reinstatement] = ReleaseReinstatement.objects.all()
        assert (reinstatement.released_woman, reinstatement.decision, reinstatement.previous_decision,
                reinstatement.reinstated_by, reinstatement.undid_withdrawal_at) == (
                    s.her, again, shared_on, s.world.trust_lead, None)
        assert ReleasedWoman.objects.filter(woman=s.her.woman).count() == 1  # one release per woman, kept
        assert ReleasedWoman.objects.get(pk=s.her.pk).shared_on_decision == again
        entry = AuditEntry.objects.get(object_repr=f"sharing.releasereinstatement:{reinstatement.pk}")
        assert entry.actor_id == s.world.trust_lead.pk and f"decision #{again.pk}" in entry.reason
        # Out again on a later decision: the reinstatement does not outlive it.
        _more_information(s)
        assert not s.both_see_her()


def test_a_withdrawn_release_is_reinstated_with_its_withdrawal_kept():
    with time_machine.travel(T0, tick=False):
        s = Setting()
        withdrawn = withdraw_from_delivery(s.her, by=s.world.trust_lead)
        reinstatement = reinstate(s.her, by=s.world.trust_lead)
        assert (reinstatement.undid_withdrawal_at, reinstatement.undid_withdrawal_by) == (
            withdrawn.withdrawn_at, s.world.trust_lead)
        assert ReleasedWoman.objects.get(pk=s.her.pk).withdrawn_at is None
        s.world.assign(s.her)  # her caseload ended with the withdrawal: the Pause lead assigns her again
        assert s.both_see_her()


def test_reinstatement_is_refused_with_a_reason_and_writes_nothing():
    with time_machine.travel(T0, tick=False):
        s = Setting()
        with pytest.raises(DeliveryReleaseRefused, match="Pause still sees her"):
            reinstate(s.her, by=s.world.trust_lead)
        _not_eligible(s)
        with pytest.raises(DeliveryReleaseRefused, match="cannot be reinstated"):
            reinstate(s.her, by=s.world.trust_lead)  # the latest decision does not allow it
        decide(woman=s.her.woman, by=s.world.trust_lead, outcome="eligible", reason="Synthetic: eligible again")
        with pytest.raises(DeliveryReleaseRefused, match="Only the programme's Trust leads"):
            reinstate(s.her, by=s.world.pause_lead)
        open_restriction(woman=s.her.woman, reason="objection", by=s.world.trust_lead)
        with pytest.raises(DeliveryReleaseRefused, match="cannot be reinstated"):
            reinstate(s.her, by=s.world.trust_lead)
        Woman.objects.filter(pk=s.her.woman_id).update(died_on=date(2026, 3, 1))
        with pytest.raises(DeliveryReleaseRefused, match="died"):
            reinstate(s.her, by=s.world.trust_lead)
        assert ReleaseReinstatement.objects.count() == 0
        assert not s.both_see_her()


def test_confirming_her_absence_keeps_her_and_is_audited_and_a_new_absence_needs_a_new_confirmation():
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        s = Setting()
        _absent(s)
        client = sign_in_verified(Client(), s.world.trust_lead)
        response = client.post(reverse("delivery:confirm-absence"), {"released": s.her.pk})
        assert response.status_code == 302 and response["Location"] == reverse("delivery:changes")
        confirmation = AbsenceConfirmation.objects.get()
        assert (confirmation.released_woman, confirmation.confirmed_by) == (s.her, s.world.trust_lead)
        entry = AuditEntry.objects.get(object_repr=f"sharing.absenceconfirmation:{confirmation.pk}")
        assert entry.actor_id == s.world.trust_lead.pk and "stays shared with Pause" in entry.reason
        assert changes_since_release(s.world.programme) == []
        with pytest.raises(DeliveryReleaseRefused, match="already confirmed"):
            confirm_absence(s.her, by=s.world.trust_lead)
        with pytest.raises(DeliveryReleaseRefused, match="Only the programme's Trust leads"):
            confirm_absence(s.her, by=s.world.pause_lead)
        with pytest.raises(DeliveryReleaseRefused, match="in the latest extract"):
            confirm_absence(s.control, by=s.world.trust_lead)
        assert AbsenceConfirmation.objects.count() == 1
    with time_machine.travel(T0 + WINDOW * 3, tick=False):
        assert s.both_see_her()
        # She comes back in an extract, then goes missing again: that absence is not confirmed.
        back = f.ExtractFactory(programme=s.world.programme, uploaded_by=s.world.trust_lead)
        Woman.objects.filter(pk=s.her.woman_id).update(last_extract=back, in_latest_extract=True)
        _absent_again = f.ExtractFactory(programme=s.world.programme, uploaded_by=s.world.trust_lead)
        Woman.objects.filter(pk=s.her.woman_id).update(in_latest_extract=False)
        assert s.both_see_her()
        [change] = changes_since_release(s.world.programme)
        assert change.since == _absent_again.finished_at
    with time_machine.travel(T0 + WINDOW * 4, tick=False):
        assert not s.both_see_her()


def test_the_changes_pages_are_the_trust_leads_only():
    s = Setting()
    _absent(s)
    url = reverse("delivery:changes")
    withdraw_from_delivery(s.control, by=s.world.trust_lead)
    for person in (s.world.pause_lead, s.world.practitioners[0], s.world.caldicott):
        client = sign_in_verified(Client(), person)
        assert client.get(url).status_code in (403, 404)
        assert client.post(reverse("delivery:confirm-absence"), {"released": s.her.pk}).status_code in (403, 404)
        assert client.post(reverse("delivery:reinstate"), {"released": s.control.pk}).status_code in (403, 404)
    assert AbsenceConfirmation.objects.count() == 0 and ReleaseReinstatement.objects.count() == 0
    assert sign_in_verified(Client(), s.world.trust_lead).get(url).status_code == 200


def test_an_open_concern_about_a_woman_who_left_stays_visible_alone_to_its_author_and_the_lead_until_closed():
    with time_machine.travel(T0, tick=False):
        s = Setting()
        concern = raise_concern(s.her, by=s.world.practitioners[0], kind="safeguarding",
                                summary="Synthetic summary of a concern QZX")
        other = s.world.practitioners[1]  # a practitioner of the programme who did not raise it
        _not_eligible(s)
        assert not s.both_see_her()
        url = reverse("casework:concern", args=[concern.pk])
        for person in (s.world.practitioners[0], s.world.pause_lead):
            client = sign_in_verified(Client(), person)
            page = client.get(url)
            assert page.status_code == 200
            body = page.content.decode()
            assert "Synthetic summary of a concern QZX" in body and 'id="concern-kept"' in body
            assert s.names[s.her.pk] not in body  # the concern alone: nothing about her
            assert reverse("casework:woman", args=[s.her.pk]) not in body
            assert f'href="{url}"' in client.get(reverse("casework:concerns")).content.decode()
            assert client.get(reverse("delivery:woman", args=[s.her.pk])).status_code == 404
        other_client = sign_in_verified(Client(), other)
        assert other_client.get(url).status_code == 404  # not its author
        assert f'href="{url}"' not in other_client.get(reverse("casework:concerns")).content.decode()
        close_concern(concern, by=s.world.trust_lead, closing_note="Synthetic: closed")
        for person in (s.world.practitioners[0], s.world.pause_lead):
            client = sign_in_verified(Client(), person)
            assert client.get(url).status_code == 404
            assert f'href="{url}"' not in client.get(reverse("casework:concerns")).content.decode()
