"""Restrictions live in eligibility: `open_restriction` is the one code that creates one, and it
takes her out of the scoping release through the kernel's hook, in its own transaction (a failure
there leaves no restriction); `restrict` and `end_restriction` are checked by role and refuse with
the same messages as before the move. All data is synthetic."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from audit.core.models import AuditEntry
from eligibility.models import Restriction, RestrictionReason
from eligibility.release import can_be_released
from eligibility.restrictions import RestrictionRefused, end_restriction, open_restriction, restrict
from sharing import scoping_release
from sharing.models_scoping import ScopingRelease, ScopingWomanRow
from sharing.scoping_release import release_for_scoping
from tests.sharing.test_scoping_world import Cohort, agreement

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def released(programme, trust_lead, caldicott):
    """Six women alike in every quasi-identifier, released for scoping."""
    agreement(programme, proposed_by=trust_lead, decided_by=caldicott)
    cohort, today = Cohort(programme, trust_lead), timezone.localdate()
    women = [cohort.woman(born=date(1990, 3, 1) + timedelta(days=i), ethnicity="WBRI",
                          removals=[today - timedelta(days=100), today - timedelta(days=200)]) for i in range(6)]
    release_for_scoping(programme, women, by=trust_lead)
    return women


def test_opening_a_restriction_takes_her_out_of_scoping_at_once(released, trust_lead):
    her = released[0]
    restriction = open_restriction(woman=her, reason=RestrictionReason.SAFEGUARDING, by=trust_lead)
    assert (restriction.woman, restriction.reason, restriction.recorded_by) == (her, "safeguarding", trust_lead)
    assert not ScopingWomanRow.objects.filter(woman=her).exists() and not can_be_released(her)
    assert ScopingWomanRow.objects.filter(programme=her.programme, withheld=False).count() == 5
    [recheck] = ScopingRelease.objects.get().report["rechecks"]
    assert recheck["why"] == "restriction opened"
    assert AuditEntry.objects.filter(reason=f"restriction #{restriction.pk} opened").exists()


def test_when_taking_her_out_of_scoping_fails_no_restriction_is_left(released, trust_lead, monkeypatch):
    def audit_fails(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    her = released[0]
    monkeypatch.setattr(scoping_release, "record_event", audit_fails)  # the hook's handler writes its entry
    with pytest.raises(RuntimeError):
        restrict(woman=her, reason="objection", by=trust_lead)
    assert not Restriction.objects.exists()
    assert ScopingWomanRow.objects.filter(woman=her).exists()  # still in the release, as before


def test_restrict_is_for_trust_leads_and_the_dpo_with_a_reason_one_at_a_time(programme, trust_lead, dpo, caseworker,
                                                                             caldicott, pause_lead):
    her = Cohort(programme, trust_lead).woman(born=date(1990, 1, 1), ethnicity="WBRI", removals=[date(2020, 1, 1)])
    for person in (caseworker, caldicott, pause_lead):
        with pytest.raises(RestrictionRefused, match=re.escape(
                "Only the programme's Trust leads and its DPO restrict a woman's records.")):
            restrict(woman=her, reason="objection", by=person)
    with pytest.raises(RestrictionRefused, match="Choose why her records are restricted."):
        restrict(woman=her, reason="because", by=trust_lead)
    assert not Restriction.objects.exists()
    first = restrict(woman=her, reason="accuracy", by=dpo)
    with pytest.raises(RestrictionRefused, match=re.escape(f"already restricted (restriction #{first.pk})")):
        restrict(woman=her, reason="objection", by=trust_lead)
    ended = end_restriction(first, by=trust_lead)
    assert ended.ended_at is not None and can_be_released(her)
    with pytest.raises(RestrictionRefused, match=re.escape(f"Restriction #{first.pk} has already ended.")):
        end_restriction(first, by=dpo)
    with pytest.raises(RestrictionRefused, match="Only the programme's Trust leads"):
        end_restriction(restrict(woman=her, reason="objection", by=dpo), by=caseworker)


def test_open_restriction_is_the_only_code_that_creates_a_restriction():
    creates = re.compile(r"(?<!class )\bRestriction\(|\bRestriction\.objects\.(create|bulk_create|get_or_create)\b")
    found = sorted(str(path.relative_to(ROOT)) for app in ("pause_portal", "audit", "sharing", "eligibility")
                   for path in (ROOT / app).rglob("*.py")
                   if "migrations" not in path.parts and creates.search(path.read_text()))
    assert found == ["eligibility/restrictions.py"]
