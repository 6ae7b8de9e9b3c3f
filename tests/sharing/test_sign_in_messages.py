"""Issue 24, point 6 (the defects): sign-in, enrolment and the password check answer an empty or
malformed field in our own words, never Django's "This field is required."."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sharing.forms import ConfirmPasswordForm, OtpTokenForm, SetPasswordForm, SignInForm

pytestmark = pytest.mark.django_db

DJANGO_DEFAULTS = ("This field is required.", "Enter a valid email address.")


def test_an_empty_sign_in_says_what_to_enter():
    response = Client().post(reverse("accounts:sign-in"), {"username": "", "password": ""})
    body = response.content.decode()
    assert "Enter your email address" in body and "Enter your password" in body
    assert not any(m in body for m in DJANGO_DEFAULTS)


def test_a_malformed_address_says_how_to_write_one():
    body = Client().post(reverse("accounts:sign-in"), {"username": "not-an-address", "password": "x"}).content.decode()
    assert "Enter an email address in the correct format, like name@example.com" in body
    assert not any(m in body for m in DJANGO_DEFAULTS)


@pytest.mark.parametrize("form", [SignInForm, SetPasswordForm, ConfirmPasswordForm, OtpTokenForm])
def test_every_field_of_the_account_forms_has_its_own_required_message(form):
    for name, field in form.base_fields.items():
        assert field.error_messages["required"] != "This field is required.", name
