"""Rights requests: due dates (one calendar month, that month's last day when it has no such day,
extensions), opening, owning and closing a request, the caseworker's rectification step, and
restriction hiding her from every Pause view at once. All data is synthetic."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from audit.core.models import AuditEntry
from audit.core.models_rights import RequestKind, RequestStatus, RightsRequest
from audit.oversight import rights
from audit.oversight.due_dates import days_left, due_on
from eligibility.corrections import active_corrections, correct
from eligibility.disclosure import disclose
from eligibility.models import Child, Correction, Woman
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.fields import Protector
from sharing.delivery_access import visible_released_women
from tests.audit.oversight.test_rights_world import rights_world
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("received", "due"), [
    (date(2026, 1, 31), date(2026, 2, 28)),
    (date(2028, 1, 31), date(2028, 2, 29)),  # a leap year
    (date(2026, 1, 30), date(2026, 2, 28)),
    (date(2026, 3, 31), date(2026, 4, 30)),
    (date(2026, 3, 15), date(2026, 4, 15)),
    (date(2026, 12, 31), date(2027, 1, 31)),
    (date(2026, 2, 28), date(2026, 3, 28)),
])
def test_due_one_calendar_month_later_or_that_months_last_day(received, due):
    assert due_on(received) == due


def test_extensions_count_from_the_day_received():
    assert due_on(date(2026, 1, 31), 1) == date(2026, 3, 31)
    assert due_on(date(2026, 1, 31), 2) == date(2026, 4, 30)
    assert days_left(date(2026, 2, 28), today=date(2026, 2, 25)) == 3
    assert days_left(date(2026, 2, 28), today=date(2026, 3, 2)) == -2


@time_machine.travel("2026-01-31 10:00:00+00:00", tick=False)
def test_a_request_opened_on_31_january_is_due_on_28_february_and_extends_with_reasons():
    w = rights_world(women=1)
    rr = w.request("access")
    assert rr.reference == "DPO-2026-001" and rr.due_on == date(2026, 2, 28) and rr.owner == w.dpo
    assert rr.status == RequestStatus.OPEN and rr.person_id_index == rr.woman.person_id_index
    assert rights.reveal(rr, "identity_check").startswith("Passport")
    assert b"Passport" not in bytes(RightsRequest.objects.get(pk=rr.pk).identity_check)  # encrypted at rest
    rights.extend(rr, months=1, reason="Complex: several systems to search", by=w.dpo)
    assert RightsRequest.objects.get(pk=rr.pk).due_on == date(2026, 3, 31)
    with pytest.raises(rights.RightsRefused, match="at most 2 months"):
        rights.extend(rr, months=2, reason="More", by=w.dpo)
    rights.extend(rr, months=1, reason="Still complex", by=w.dpo)
    rr.refresh_from_db()
    assert rr.due_on == date(2026, 4, 30)
    assert [(e.due_before, e.due_after) for e in rr.extensions.all()] == [
        (date(2026, 2, 28), date(2026, 3, 31)), (date(2026, 3, 31), date(2026, 4, 30))]
    with pytest.raises(rights.RightsRefused, match="Enter the reason"):
        rights.extend(rr, months=1, reason=" ", by=w.dpo)


def _open(w, *, by, woman=None, **changes):
    values = {"programme": w.programme, "kind": "access", "woman": woman or w.delivery.released[0].woman,
              "received_on": date(2026, 5, 1), "received_via": "email", "identity_method": "in_person",
              "identity_document": "passport", "identity_checked_by": w.dpo, "identity_check": "", "details": ""}
    return rights.open_request(**{**values, **changes}, by=by)


@time_machine.travel("2026-05-10 09:00:00+00:00", tick=False)
def test_opening_is_refused_to_everyone_but_the_dpo_and_for_a_future_date():
    w = rights_world(women=1)
    for person in (w.caseworker, w.delivery.trust_lead, w.delivery.caldicott, w.delivery.pause_lead,
                   w.delivery.practitioners[0]):
        with pytest.raises(rights.RightsRefused):
            _open(w, by=person)
    with pytest.raises(rights.RightsRefused, match="today or in the past"):
        _open(w, by=w.dpo, received_on=date(2026, 5, 11))
    other = rights_world(women=1)
    with pytest.raises(rights.RightsRefused):  # a woman of another programme
        _open(w, by=w.dpo, woman=other.delivery.released[0].woman)
    assert not RightsRequest.objects.exists()


@time_machine.travel("2026-05-10 09:00:00+00:00", tick=False)
@pytest.mark.parametrize(("changes", "message"), [
    ({"received_via": ""}, "how the request was received"),
    ({"received_via": "pigeon"}, "how the request was received"),
    ({"identity_method": ""}, "how the requester's identity was verified"),
    ({"identity_document": ""}, "type of document"),
    ({"identity_document": "none"}, "only one made by her Trust worker"),
    ({"identity_checked_by": None}, "who checked"),
    ({"identity_check": "Passport 123 456 789 seen"}, "document's number"),
])
def test_opening_needs_the_receipt_and_structured_identity_evidence(changes, message):
    w = rights_world(women=1)
    with pytest.raises(rights.RightsRefused, match=message):
        _open(w, by=w.dpo, **changes)
    assert not RightsRequest.objects.exists()


@time_machine.travel("2026-05-10 09:00:00+00:00", tick=False)
def test_the_checker_is_trust_staff_of_the_programme():
    w = rights_world(women=1)
    for person in (w.delivery.pause_lead, w.delivery.practitioners[0], rights_world(women=1).dpo):
        with pytest.raises(rights.RightsRefused, match="who checked"):
            _open(w, by=w.dpo, identity_checked_by=person)
    rr = _open(w, by=w.dpo, identity_checked_by=w.caseworker, identity_method="trust_known", identity_document="none")
    assert rr.identity_verified and rr.identity_checked_by == w.caseworker and rr.received_via == "email"


def test_the_audit_entry_names_the_request_by_reference_and_says_nothing_about_her():
    w = rights_world(women=1)
    rr = w.request("objection")
    entry = AuditEntry.objects.filter(object_repr=f"audit.rightsrequest:{rr.pk}").order_by("pk").first()
    assert entry.reason == f"rights request {rr.reference} opened"
    assert list(entry.subjects.values_list("subject", flat=True)) == [f"eligibility.woman:{rr.woman_id}"]


def test_owner_and_closing():
    w = rights_world(women=1)
    second = member(w.programme, "dpo")
    rr = w.request("access")
    with pytest.raises(rights.RightsRefused, match="owner must be"):
        rights.reassign(rr, owner=w.caseworker, by=w.dpo)
    rights.reassign(rr, owner=second, by=w.dpo)
    assert RightsRequest.objects.get(pk=rr.pk).owner == second
    with pytest.raises(rights.RightsRefused, match="Enter the answer"):
        rights.close(rr, status="completed", note="", by=w.dpo)
    rights.close(rr, status="completed", note="Pack sent by secure email", by=second)
    rr.refresh_from_db()
    assert rr.status == RequestStatus.COMPLETED and rr.closed_by == second and rr.closed_at
    assert rights.reveal(rr, "outcome_note") == "Pack sent by secure email"
    with pytest.raises(rights.RightsRefused, match="closed"):
        rights.extend(rr, months=1, reason="late", by=w.dpo)


def test_objections_and_erasures_are_not_closed_as_completed_by_hand():
    w = rights_world(women=2)
    for kind, index in (("objection", 0), ("erasure", 1)):
        rr = w.request(kind, index)
        with pytest.raises(rights.RightsRefused):
            rights.close(rr, status="completed", note="done", by=w.dpo)
    erasure = RightsRequest.objects.get(kind="erasure")
    rights.close(erasure, status="refused", note="Art. 17(3)(b): a legal obligation to keep her records",
                 by=w.dpo)
    assert RightsRequest.objects.get(pk=erasure.pk).status == RequestStatus.REFUSED


# --- rectification: the caseworker's step -------------------------------------------------------
def test_a_caseworker_corrects_her_record_from_the_request_and_the_history_is_kept():
    w = rights_world(women=2)
    rr = w.request("rectification")
    woman = rr.woman
    protector = Protector.load(w.programme.pk, Woman.key_phase)
    old_surname = woman.reveal(protector, "surname")
    correction = rights.rectify(rr, woman, "surname", "Rightname", reason="Marriage certificate seen",
                                by=w.caseworker)
    woman.refresh_from_db()
    assert woman.reveal(protector, "surname") == "Rightname"
    assert correction.reveal(protector, "previous_value") == old_surname
    assert correction.reveal(protector, "reason") == f"{rr.reference}: Marriage certificate seen"
    assert old_surname.encode() not in bytes(Correction.objects.get(pk=correction.pk).previous_value)
    # the import keeps the corrected value over a later extract's (eligibility.import_writer)
    assert active_corrections(Woman, [woman.pk], protector) == {woman.pk: {"surname": "Rightname"}}
    entry = AuditEntry.objects.filter(object_repr=f"eligibility.woman:{woman.pk}").order_by("-pk").first()
    assert rr.reference in entry.reason and "Rightname" not in entry.reason and old_surname not in entry.reason
    child = Child.objects.filter(mother=woman).first()
    rights.rectify(rr, child, "sex", "M", reason="Birth certificate", by=w.caseworker)
    assert Child.objects.get(pk=child.pk).sex == "M"
    rights.finish_rectification(rr, note="Surname and one child's sex corrected", by=w.caseworker)
    rr.refresh_from_db()
    assert rr.rectification_done_by == w.caseworker and rights.reveal(rr, "rectification_note").startswith("Surname")
    rights.close(rr, status="completed", note="Told her", by=w.dpo)


def test_the_caseworker_step_is_refused_outside_its_request():
    w = rights_world(women=2)
    rr = w.request("rectification")
    other_woman = w.delivery.released[1].woman
    with pytest.raises(rights.RightsRefused, match="her own record"):
        rights.rectify(rr, other_woman, "surname", "X", reason="r", by=w.caseworker)
    with pytest.raises(rights.RightsRefused, match="caseworkers"):
        rights.rectify(rr, rr.woman, "surname", "X", reason="r", by=w.delivery.trust_lead)
    with pytest.raises(rights.RightsRefused, match="not a date"):
        rights.rectify(rr, rr.woman, "date_of_birth", "soon", reason="r", by=w.caseworker)
    access = w.request("access", 1)
    with pytest.raises(rights.RightsRefused, match="not an open rectification"):
        rights.rectify(access, other_woman, "surname", "X", reason="r", by=w.caseworker)
    with pytest.raises(PermissionDenied):  # straight to the corrections module, with someone else's request
        correct(other_woman, "surname", "X", by=w.caseworker, reason="r", rights_request=rr)
    with pytest.raises(PermissionDenied):  # or with none
        correct(rr.woman, "surname", "X", by=w.caseworker, reason="r")
    with pytest.raises(rights.RightsRefused, match="not yet finished"):
        rights.close(rr, status="completed", note="done", by=w.dpo)
    rights.close(rr, status="refused", note="Records are accurate", by=w.dpo)
    with pytest.raises(PermissionDenied):  # the request is closed now
        correct(rr.woman, "surname", "X", by=w.caseworker, reason="r", rights_request=rr)
    assert not Correction.objects.exists()


# --- restriction: out of every Pause view at once -------------------------------------------------
def _seen_by_pause(w) -> set[int]:
    seen = set()
    for person in (w.delivery.pause_lead, *w.delivery.practitioners):
        membership = membership_in(person, w.programme.pk)
        seen |= set(visible_released_women(person, membership).values_list("pk", flat=True))
        seen |= {r.pk for r in disclose(person, w.delivery.released, page="/test")}
    return seen


def test_a_restriction_request_hides_her_from_every_pause_view_at_once_and_lifting_brings_her_back():
    w = rights_world(women=2)
    first, second = w.delivery.released
    w.delivery.assign(first, w.delivery.practitioners[0])
    assert _seen_by_pause(w) == {first.pk, second.pk}
    rr = w.request("restriction")
    assert _seen_by_pause(w) == {first.pk, second.pk}  # opening the request alone restricts nothing
    rights.open_request_restriction(rr, by=w.dpo)
    assert _seen_by_pause(w) == {second.pk}
    with pytest.raises(rights.RightsRefused, match="already restricted"):
        rights.open_request_restriction(rr, by=w.dpo)
    rights.lift_request_restriction(rr, by=w.dpo)
    assert _seen_by_pause(w) == {first.pk, second.pk}
    with pytest.raises(rights.RightsRefused):
        rights.open_request_restriction(w.request("access", 1), by=w.dpo)


def test_kinds_are_the_five_rights():
    assert {k.value for k in RequestKind} == {"access", "rectification", "restriction", "objection", "erasure"}


def test_a_later_extract_shows_the_difference_instead_of_undoing_the_caseworkers_correction(programme, caseworker,
                                                                                            dpo):
    from eligibility.importing import import_extract
    from tests.eligibility.extracts import TODAY, Ssd

    import_extract(programme=programme, files=Ssd().files(), by=caseworker, today=TODAY)
    woman = Woman.objects.get()
    rr = rights.open_request(programme=programme, kind="rectification", woman=woman, identity_check="Seen in person",
                             details="Her surname is misspelt", received_on=TODAY, received_via="in_person",
                             identity_method="in_person", identity_document="driving_licence",
                             identity_checked_by=dpo, by=dpo)
    rights.rectify(rr, woman, "surname", "Smyth", reason="Checked the case system", by=caseworker)
    later = Ssd().set("ssd_person", 0, pers_forename="Anne")  # a new file; the surname still the old one
    extract = import_extract(programme=programme, files=later.files(), by=caseworker, today=TODAY)
    woman.refresh_from_db()
    assert woman.reveal(Protector.load(programme.pk, Woman.key_phase), "surname") == "Smyth"
    kept = [p for p in extract.problems if p["code"] == "correction_kept"]
    assert [(p["column"], p["level"]) for p in kept] == [("surname", "warning")]
    assert "Smyth" not in kept[0]["message"]
