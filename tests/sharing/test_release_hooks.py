"""Sharing's handler of the kernel's `woman_no_longer_releasable` hook (ADR 24): a withdrawn
decision takes her out of the scoping release in the decision's own transaction, so a decision
that rolls back leaves the release as it was."""

from __future__ import annotations

import pytest
from django.db import transaction

from eligibility.decisions import decide
from eligibility.models import Decision
from sharing.models_scoping import ScopingWomanRow
from sharing.scoping_release import release_for_scoping
from tests.sharing.test_scoping_release import uniform_women, world  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def test_a_withdrawn_decision_that_rolls_back_leaves_her_in_the_release(world, programme, trust_lead):  # noqa: F811
    women = uniform_women(world, 5)
    release_for_scoping(programme, women, by=trust_lead)
    decisions = Decision.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        decide(woman=women[0], by=trust_lead, outcome="not_eligible", reason="Withdrawn")
        assert not ScopingWomanRow.objects.filter(woman=women[0]).exists()  # the hook ran, in here
        raise RuntimeError("the caller rolls back")
    assert ScopingWomanRow.objects.filter(woman=women[0]).exists()
    assert ScopingWomanRow.objects.filter(programme=programme, withheld=False).count() == 5
    assert Decision.objects.count() == decisions
