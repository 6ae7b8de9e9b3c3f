"""The rectification request a caseworker corrects from is checked where rights requests are owned
(`audit.oversight.rights.open_rectification`), as it stands in the database; the corrections
module takes only what was checked and still refuses a record that is not that woman's. All data
is synthetic."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from audit.oversight import rights
from eligibility.corrections import OpenRectification, correct
from eligibility.models import Child, Correction
from tests.audit.oversight.test_rights_world import rights_world

pytestmark = pytest.mark.django_db


def test_only_an_open_rectification_request_is_checked_as_one():
    w = rights_world(women=2)
    rr = w.request("rectification")
    assert rights.open_rectification(rr) == OpenRectification(rr.reference, rr.programme_id, rr.woman_id)
    assert rights.open_rectification(w.request("access", 1)) is None
    stale = type(rr).objects.get(pk=rr.pk)  # a copy read while the request was open
    rights.close(rr, status="refused", note="Records are accurate", by=w.dpo)
    assert stale.is_open and rights.open_rectification(stale) is None  # read again: closed now
    with pytest.raises(PermissionDenied):  # the caseworker's step from the stale copy is refused
        rights.rectify(stale, stale.woman, "surname", "X", reason="r", by=w.caseworker)
    assert not Correction.objects.exists()


def test_a_checked_request_corrects_her_records_and_no_one_elses():
    w = rights_world(women=2)
    rr = w.request("rectification")
    checked = rights.open_rectification(rr)
    her_child = Child.objects.filter(mother=rr.woman).first()
    other_woman = w.delivery.released[1].woman
    for record in (other_woman, Child.objects.filter(mother=other_woman).first()):
        with pytest.raises(PermissionDenied):
            correct(record, "sex" if isinstance(record, Child) else "surname", "M", by=w.caseworker, reason="r",
                    rights_request=checked)
    with pytest.raises(PermissionDenied):  # the same facts, not checked by the rights request's owner
        correct(rr.woman, "surname", "X", by=w.caseworker, reason="r", rights_request=rr)
    with pytest.raises(PermissionDenied):  # a checked request lets a caseworker correct, nobody else
        correct(rr.woman, "surname", "X", by=w.delivery.trust_lead, reason="r", rights_request=checked)
    assert not Correction.objects.exists()
    correct(rr.woman, "surname", "Rightname", by=w.caseworker, reason=f"{rr.reference}: r", rights_request=checked)
    correct(her_child, "sex", "M", by=w.caseworker, reason=f"{rr.reference}: r", rights_request=checked)
    assert Correction.objects.count() == 2
