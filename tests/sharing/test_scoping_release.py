"""The scoping release: refused without a complete agreement or for women who cannot be released;
rows made once and k-checked over the whole snapshot; removals re-run the check; a destroyed
scoping token key resolves nothing."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

import pytest
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from eligibility.decisions import decide
from eligibility.models import RestrictionReason
from eligibility.restrictions import open_restriction
from pause_portal.tenancy.roles import Role
from pseudonymisation import keys
from pseudonymisation.errors import KeyDestroyed
from pseudonymisation.keys import Keyring
from pseudonymisation.tokens import TokenKind, TokenMaker
from sharing.models_scoping import ScopingChildRow, ScopingRelease, ScopingWomanRow
from sharing.scoping_release import (
    QUASI_IDENTIFIERS,
    K,
    ScopingReleaseRefused,
    release_for_scoping,
    remove_from_scoping,
    token_scope,
)
from tests.sharing.test_scoping_world import Cohort, agreement

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(programme, trust_lead, caldicott):
    agreement(programme, proposed_by=trust_lead, decided_by=caldicott)
    return Cohort(programme, trust_lead)


def served_combinations(programme) -> Counter:
    rows = ScopingWomanRow.objects.filter(programme=programme, withheld=False)
    return Counter(tuple(getattr(r, c) for c in QUASI_IDENTIFIERS) for r in rows)


def uniform_women(world, n, *, start=0):
    """n women alike in every quasi-identifier (so k-anonymous at the finest levels)."""
    today = timezone.localdate()
    return [world.woman(born=date(1990, 3, 1) + timedelta(days=i), ethnicity="WBRI",
                        removals=[today - timedelta(days=100), today - timedelta(days=200)])
            for i in range(start, start + n)]


def test_a_release_makes_rows_once_with_tokens_and_generalised_values(world, programme, trust_lead):
    women = uniform_women(world, 6)
    release = release_for_scoping(programme, women, by=trust_lead)
    rows = list(ScopingWomanRow.objects.filter(release=release))
    assert len(rows) == 6 and not any(r.withheld for r in rows)
    assert all(r.token.startswith("W-") and r.ethnic_group == "White" and r.children_removed == "2" for r in rows)
    assert ScopingChildRow.objects.filter(programme=programme).count() == 12
    assert all(c.token.startswith("C-") and c.outcome == "Care order" for c in ScopingChildRow.objects.all())
    assert release.report["levels"] == {c: 0 for c in QUASI_IDENTIFIERS}
    assert release.report["served"] == 6 and release.report["withheld"] == 0
    entry = AuditEntry.objects.get(event=Event.CHANGE, reason__startswith="scoping release #", actor=trust_lead)
    assert entry.subject_count == 6 and entry.object_pk == str(release.pk)


def test_every_served_combination_has_k_of_five_and_the_report_says_what_was_done(world, programme, trust_lead):
    women = world.random_women(40, random.Random(7))
    release = release_for_scoping(programme, women, by=trust_lead)
    combos = served_combinations(programme)
    assert combos and min(combos.values()) >= K
    report = release.report
    assert report["rows"] == 40 and report["served"] + report["withheld"] == 40
    assert report["withheld"] <= 4  # the module's 10% cap
    assert set(report["level_names"]) == set(QUASI_IDENTIFIERS)
    assert "W-" not in str(report) and "TPID" not in str(report)


@pytest.mark.parametrize("missing", ["agreement", "policy", "dpia"])
def test_release_is_refused_without_agreement_policy_document_or_dpia(missing, programme, trust_lead, caldicott):
    if missing == "policy":
        agreement(programme, proposed_by=trust_lead, decided_by=caldicott, policy_document_reference="")
    elif missing == "dpia":
        agreement(programme, proposed_by=trust_lead, decided_by=caldicott, dpia_signed_off_by="",
                  dpia_signed_off_on=None)
    women = uniform_women(Cohort(programme, trust_lead), 5)
    with pytest.raises(ScopingReleaseRefused) as refused:
        release_for_scoping(programme, women, by=trust_lead)
    assert refused.value.problems
    assert not ScopingRelease.objects.exists() and not ScopingWomanRow.objects.exists()


def test_an_unconfirmed_agreement_does_not_count(programme, trust_lead, caldicott):
    agreement(programme, proposed_by=trust_lead, decided_by=None, status="proposed", decided_at=None)
    with pytest.raises(ScopingReleaseRefused):
        release_for_scoping(programme, uniform_women(Cohort(programme, trust_lead), 5), by=trust_lead)


def test_women_who_cannot_be_released_are_refused_by_row_and_nothing_is_released(world, programme, trust_lead):
    good = uniform_women(world, 6)
    today = timezone.localdate()
    ruled_out = world.woman(born=date(1990, 1, 1), ethnicity="WBRI", removals=[today - timedelta(days=50)] * 2,
                            outcome="not_eligible")
    restricted = uniform_women(world, 1, start=20)[0]
    open_restriction(woman=restricted, reason=RestrictionReason.OBJECTION, by=trust_lead)
    with pytest.raises(ScopingReleaseRefused) as refused:
        release_for_scoping(programme, [*good, ruled_out, restricted], by=trust_lead)
    problems = refused.value.problems
    assert len(problems) == 2
    assert f"woman #{ruled_out.pk}" in problems[0] and "Not eligible" in problems[0]
    assert f"woman #{restricted.pk}" in problems[1] and "restriction" in problems[1]
    assert not ScopingWomanRow.objects.exists()


def test_only_a_trust_lead_releases(world, programme, caseworker, pause_lead):
    women = uniform_women(world, 5)
    for person in (caseworker, pause_lead):
        with pytest.raises(ScopingReleaseRefused):
            release_for_scoping(programme, women, by=person)


def test_a_woman_is_released_once(world, programme, trust_lead):
    women = uniform_women(world, 5)
    release_for_scoping(programme, women, by=trust_lead)
    with pytest.raises(ScopingReleaseRefused) as refused:
        release_for_scoping(programme, women[:1], by=trust_lead)
    assert "already in the scoping release" in refused.value.problems[0]


def test_with_no_generalisation_that_works_nothing_new_is_released(world, programme, trust_lead):
    women = uniform_women(world, 3)  # fewer than k: only withholding everything would do
    with pytest.raises(ScopingReleaseRefused) as refused:
        release_for_scoping(programme, women, by=trust_lead)
    assert "Nothing was released" in refused.value.message
    assert not ScopingWomanRow.objects.exists() and not ScopingRelease.objects.exists()


def test_a_withdrawn_decision_removes_her_and_the_check_runs_again(world, programme, trust_lead):
    women = uniform_women(world, 5)
    release = release_for_scoping(programme, women, by=trust_lead)
    assert list(served_combinations(programme).values()) == [5]
    decide(woman=women[0], by=trust_lead, outcome="not_eligible", reason="Withdrawn")
    assert not ScopingWomanRow.objects.filter(woman=women[0]).exists()
    assert ScopingChildRow.objects.filter(programme=programme).count() == 8
    # four women are left alike: fewer than k, so all are withheld now
    assert not ScopingWomanRow.objects.filter(programme=programme, withheld=False).exists()
    release.refresh_from_db()
    [recheck] = release.report["rechecks"]
    assert recheck["why"] == "decision withdrawn" and recheck["rows"] == 4 and recheck["served"] == 0


def test_an_at_risk_decision_keeps_her_and_a_restriction_removes_her(world, programme, trust_lead):
    women = uniform_women(world, 7)
    release_for_scoping(programme, women, by=trust_lead)
    decide(woman=women[1], by=trust_lead, outcome="at_risk", reason="Still at risk")
    assert ScopingWomanRow.objects.filter(woman=women[1]).exists()
    open_restriction(woman=women[1], reason=RestrictionReason.SAFEGUARDING, by=trust_lead)
    assert not ScopingWomanRow.objects.filter(woman=women[1]).exists()
    assert ScopingWomanRow.objects.filter(programme=programme, withheld=False).count() == 6


def test_random_removals_keep_every_served_combination_at_k(world, programme, trust_lead):
    rng = random.Random(11)
    women = world.random_women(45, rng)
    release_for_scoping(programme, women, by=trust_lead)
    for woman in rng.sample(women, 12):
        remove_from_scoping(woman, "objection")
        combos = served_combinations(programme)
        assert not combos or min(combos.values()) >= K


def test_levels_never_move_finer_in_one_column_and_coarser_in_another(world, programme, trust_lead):
    rng = random.Random(5)
    women = world.random_women(30, rng)
    release_for_scoping(programme, women[:20], by=trust_lead)
    release_for_scoping(programme, women[20:], by=trust_lead)
    for woman in women[:8]:
        remove_from_scoping(woman, "objection")
    checks = []
    for r in ScopingRelease.objects.order_by("pk"):
        checks += [r.report, *r.report.get("rechecks", [])]
    served = [c["levels"] for c in checks if c.get("served")]
    for a, b in zip(served, served[1:], strict=False):
        finer = all(b[c] <= a[c] for c in QUASI_IDENTIFIERS)
        coarser = all(b[c] >= a[c] for c in QUASI_IDENTIFIERS)
        assert finer or coarser, (a, b)


def test_a_destroyed_scoping_token_key_resolves_nothing(world, programme, trust_lead):
    women = uniform_women(world, 5)
    release_for_scoping(programme, women, by=trust_lead)
    row = ScopingWomanRow.objects.filter(programme=programme).first()
    from pseudonymisation.fields import Protector

    trust_id = row.woman.reveal(Protector.load(programme.pk, "trust"), "trust_person_id")
    maker = TokenMaker(Keyring.load(token_scope(programme.pk)))
    assert maker.make(TokenKind.WOMAN, trust_id) == row.token
    assert maker.resolve(row.token, [trust_id]) == trust_id
    keys.destroy(token_scope(programme.pk))
    with pytest.raises(KeyDestroyed):
        Keyring.load(token_scope(programme.pk))
    with pytest.raises(ScopingReleaseRefused) as refused:
        release_for_scoping(programme, uniform_women(world, 5, start=50), by=trust_lead)
    assert "key" in refused.value.message


def test_release_is_refused_in_delivery(world, programme, trust_lead):
    women = uniform_women(world, 5)
    programme.phase = "delivery"
    programme.save()
    with pytest.raises(ScopingReleaseRefused):
        release_for_scoping(programme, women, by=trust_lead)
    assert Role.TRUST_LEAD  # the lead is still a lead; only the phase refuses
