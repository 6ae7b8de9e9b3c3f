"""Finding someone by an exact identifier: one set of rules for every page that searches (the
restrictions page, the DPO's rights requests, the person report, the decision queue). Every live
key version is searched; no key, a destroyed key or a value that cannot be normalised finds nobody;
a key store that is not configured is an error, never "nobody". All data is synthetic."""

from datetime import date

import pytest
from django.test import override_settings

from eligibility.identifiers import WOMAN_INDEX, find_children, find_woman, find_women, search_terms
from eligibility.models import Child, Woman
from pseudonymisation import keys
from pseudonymisation.blind_index import IndexKind
from pseudonymisation.errors import MasterSecretMissing
from pseudonymisation.keys import KeyScope
from pseudonymisation.models import Purpose
from tests import factories as f
from tests.eligibility.extracts import OTHER_VALID_NHS, VALID_NHS

pytestmark = pytest.mark.django_db

BLIND_INDEX = Purpose.BLIND_INDEX


def a_woman(programme, pid="M1", surname="Smith", nhs=VALID_NHS) -> Woman:
    return f.WomanFactory(programme=programme, trust_person_id=pid, forename="Ann", surname=surname,
                          date_of_birth=date(1990, 5, 1), nhs_number=nhs, postcode="ZZ991ZZ")


def a_child(mother, pid="C1") -> Child:
    return f.ChildFactory(mother=mother, trust_person_id=pid, date_of_birth=date(2014, 2, 2), birth_year=None)


def test_each_kind_finds_exactly_her(programme):
    her = a_woman(programme, pid="AB-1", surname="O'Brien", nhs=VALID_NHS)
    other = a_woman(programme, pid="AB-2", surname="Jones", nhs=OTHER_VALID_NHS)
    assert find_woman(programme, IndexKind.PERSON_ID, " ab-1 ") == her  # normalised as the import stores it
    assert find_woman(programme, "nhs_number", f"{VALID_NHS[:3]} {VALID_NHS[3:6]} {VALID_NHS[6:]}") == her
    assert list(find_women(programme, IndexKind.SURNAME, "obrien")) == [her]
    assert list(find_women(programme, IndexKind.SURNAME_DOB, ("OBRIEN", date(1990, 5, 1)))) == [her]
    assert find_woman(programme, IndexKind.PERSON_ID, "AB-3") is None
    assert find_woman(programme, IndexKind.PERSON_ID, "AB-2") == other
    assert set(WOMAN_INDEX) == set(IndexKind)  # every kind of index a woman has can be searched


def test_a_child_is_found_by_her_trust_person_id_only_among_children(programme):
    mother = a_woman(programme, pid="M1")
    child = a_child(mother, pid="C1")
    assert list(find_children(programme, " c1")) == [child]
    assert find_woman(programme, IndexKind.PERSON_ID, "C1") is None
    assert list(find_children(programme, "M1")) == []


def test_no_key_finds_nobody(programme, other_programme):
    a_woman(programme, pid="M1")  # the first programme has keys; the other none at all
    assert search_terms(other_programme, IndexKind.PERSON_ID, "M1") == []
    assert find_woman(other_programme, IndexKind.PERSON_ID, "M1") is None
    assert list(find_children(other_programme, "M1")) == []
    assert not keys._rows(KeyScope(other_programme.pk, Woman.key_phase, BLIND_INDEX)).exists()  # none was made


def test_a_destroyed_key_finds_nobody(programme):
    mother = a_woman(programme, pid="M1")
    a_child(mother, pid="C1")
    keys.destroy(KeyScope(programme.pk, Woman.key_phase, BLIND_INDEX))
    assert search_terms(programme, IndexKind.PERSON_ID, "M1") == []
    assert find_woman(programme, IndexKind.PERSON_ID, "M1") is None
    assert find_woman(programme, IndexKind.NHS_NUMBER, VALID_NHS) is None
    assert list(find_children(programme, "C1")) == []


def test_a_woman_indexed_under_an_older_key_version_is_still_found(programme):
    before = a_woman(programme, pid="M1", nhs=VALID_NHS)
    child = a_child(before, pid="C1")
    new_version = keys.rotate(KeyScope(programme.pk, Woman.key_phase, BLIND_INDEX))
    after = a_woman(programme, pid="M2", nhs=OTHER_VALID_NHS)
    assert before.person_id_index.startswith("v1:") and after.person_id_index.startswith(f"v{new_version}:")
    terms = search_terms(programme, IndexKind.PERSON_ID, "M1")
    assert [t.split(":")[0] for t in terms] == ["v1", f"v{new_version}"]  # every live version
    assert find_woman(programme, IndexKind.PERSON_ID, "M1") == before  # not yet re-indexed: still found
    assert find_woman(programme, IndexKind.NHS_NUMBER, VALID_NHS) == before
    assert find_woman(programme, IndexKind.PERSON_ID, "M2") == after
    assert list(find_children(programme, "C1")) == [child]


@pytest.mark.parametrize("kind, value", [
    (IndexKind.NHS_NUMBER, "12345"),  # not 10 digits
    (IndexKind.NHS_NUMBER, ""),
    (IndexKind.PERSON_ID, "   "),  # blank once trimmed
    (IndexKind.SURNAME, "1234"),  # no letter
])
def test_a_value_that_cannot_be_normalised_finds_nobody(programme, kind, value):
    a_woman(programme)
    assert search_terms(programme, kind, value) == []
    assert find_woman(programme, kind, value) is None
    if kind == IndexKind.PERSON_ID:
        assert list(find_children(programme, value)) == []


def test_a_key_store_that_is_not_configured_is_an_error_not_nobody(programme):
    a_woman(programme)
    with override_settings(PORTAL_SECRETS={}), pytest.raises(MasterSecretMissing):
        find_woman(programme, IndexKind.PERSON_ID, "M1")
