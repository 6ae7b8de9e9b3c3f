"""Labels inside a sentence keep the names of the parties (issue 24: "pause's", "the trust's")."""

from __future__ import annotations

import pytest

from pause_portal.presenting import in_sentence
from sharing.agreements import RETENTION_STORES


@pytest.mark.parametrize("label,expected", [
    ("Pause's scoping data (the release, notes and exports)", "Pause's scoping data (the release, notes and exports)"),
    ("The Trust's records in the portal", "the Trust's records in the portal"),
    ("The approved final scoping report", "the approved final scoping report"),
    ("Trust contact", "Trust contact"),
    ("DPIA reference", "DPIA reference"),
    ("Her explicit consent", "her explicit consent"),
    ("", ""),
])
def test_only_the_first_letter_of_an_ordinary_word_is_lowered(label, expected):
    assert in_sentence(label) == expected


def test_no_retention_store_reads_with_a_lower_case_party():
    for label in RETENTION_STORES.values():
        shown = in_sentence(label)
        assert "pause's" not in shown and "trust's" not in shown, shown
