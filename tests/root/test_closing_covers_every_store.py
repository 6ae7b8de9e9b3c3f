"""Closing a programme purges or keeps every store of case data (ADR 39): a model holding
personal data — a field classified other than safe, or a foreign key to such a model — is either
purged by `sharing.closing` (and `eligibility.programme_purge`) or named in its `KEPT` list. A new
model with personal data that is neither fails here until its author decides."""

from __future__ import annotations

from sharing import closing
from tests.sharing.closing_world import case_data_models


def test_every_model_with_personal_data_is_purged_or_kept_when_a_programme_closes():
    kept = {k.label for k in closing.KEPT}
    unplaced = [m._meta.label for m in case_data_models() if m._meta.label not in closing.purged_labels() | kept]
    assert unplaced == [], ("Closing a programme neither purges nor keeps these models with personal data: add each "
                            "to sharing.closing.CASE_RECORDS (or eligibility.programme_purge.CASE_RECORDS) or to "
                            f"sharing.closing.KEPT, with what it is: {unplaced}")


def test_every_kept_and_purged_model_exists_and_the_metatest_sees_the_main_stores():
    for kept in closing.KEPT:
        assert kept.model._meta.db_table, kept.label
    labels = {m._meta.label for m in case_data_models()}
    assert {"eligibility.Woman", "sharing.ReleasedWoman", "sharing.ContactAttempt", "eligibility.ReReview",
            "sharing.CaseloadAssignment"} <= labels
    assert "sharing.Person" not in labels and "sharing.Programme" not in labels
