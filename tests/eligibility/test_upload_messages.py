"""Issue 24: every message written for the user, never Django's default. The day field of a date
of birth showed Django's own "Ensure this value has at most 2 characters": every part of every
GOV.UK date input now says what is wrong in words of ours, and so does the column mapping form."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from pause_portal.form_rendering import DatePartsField
from tests.conftest import sign_in_verified

DJANGO_DEFAULT = "Ensure this value has at most"


@pytest.mark.django_db
def test_a_day_of_three_digits_in_the_queue_search_gets_our_message(client, caseworker):
    sign_in_verified(client, caseworker)
    response = client.post(reverse("eligibility:queue"), {"kind": "surname", "q": "Lovelace", "dob_day": "123",
                                                          "dob_month": "5", "dob_year": "1990"})
    page = response.content.decode()
    assert "There is a problem" in page and "The day must be 2 digits or fewer" in page
    assert DJANGO_DEFAULT not in page


@pytest.mark.parametrize("max_lengths", [(2, 2, 4), (4, 4, 4)])
def test_every_part_too_long_is_named_in_words_of_ours(max_lengths):
    field = DatePartsField(max_lengths=max_lengths)
    for part, n, value in zip(("day", "month", "year"), max_lengths, ("1" * 9, "1" * 9, "1" * 9), strict=True):
        values = ["1", "1", "2000"]
        values[("day", "month", "year").index(part)] = value
        with pytest.raises(ValidationError) as refused:
            field.clean(values)
        messages = refused.value.messages
        assert messages == [f"The {part} must be {n} digits or fewer"], messages


@pytest.mark.django_db
@pytest.mark.parametrize(("posted", "message"), [
    ({"name": "", "lines": ""}, "Enter a name for the mapping"),
    ({"name": "", "lines": ""}, "Enter at least one column name"),
    ({"name": "x" * 101, "lines": "pers_person_id = PersonID"}, "The name of the mapping must be 100 characters or fewer"),
])
def test_the_column_mapping_form_speaks_in_words_of_ours(client, trust_lead, posted, message):
    sign_in_verified(client, trust_lead)
    page = client.post(reverse("eligibility:mappings"), posted).content.decode()
    assert message in page and "This field is required" not in page and DJANGO_DEFAULT not in page
