"""A release of 230 real-shaped synthetic women (issue 16's "Why"), then ten removals: k >= 5
over every served column by pycanon on the page Pause is served, at most 10% withheld, children
never listed, every table cell 0 or at least 5 and no hidden cell narrowed by the integer solver."""

from __future__ import annotations

import random

import pytest
from django.test import Client

from pause_portal.tenancy.roles import Role
from sharing.models_scoping import ScopingWomanRow
from sharing.scoping_release import release_for_scoping, remove_from_scoping
from tests.conftest import sign_in_verified
from tests.sharing.scoping_cohort import real_shaped_women
from tests.sharing.test_scoping_property import (
    PauseView,
    assert_k_anonymous_by_pycanon,
    assert_tables_safe,
)
from tests.sharing.test_scoping_world import Cohort, agreement, member

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_a_release_of_230_women_is_k_anonymous_over_everything_served(programme):
    lead = member(programme, Role.TRUST_LEAD)
    agreement(programme, proposed_by=lead, decided_by=member(programme, Role.CALDICOTT_GUARDIAN))
    rng = random.Random(16)
    women = real_shaped_women(Cohort(programme, lead), 230, rng)
    release = release_for_scoping(programme, women, by=lead)
    assert release.report["rows"] == 230 and release.report["withheld"] <= 23
    assert release.report["smallest_class"] >= 5
    pause_lead = member(programme, Role.PAUSE_LEAD)
    view = PauseView(sign_in_verified(Client(), pause_lead), programme, pause_lead)
    rows = view.visit()
    assert len(rows) == release.report["served"] == ScopingWomanRow.objects.filter(withheld=False).count()
    assert assert_k_anonymous_by_pycanon(rows) >= 5
    for woman in rng.sample(women, 10):
        remove_from_scoping(woman, "objection")
    assert_k_anonymous_by_pycanon(view.visit())
    assert_tables_safe(programme, view)
