"""The system administrator's forms for people and their roles (issue 24, point 1)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from pause_portal.form_rendering import govuk
from pause_portal.tenancy.identity import require_plain_email
from pause_portal.tenancy.models import (
    Membership,
    MembershipStatus,
    Organisation,
    Person,
    Programme,
)
from pause_portal.tenancy.roles import ROLE_SPECS, SECOND_PERSON_ROLES, Role
from sharing.forms_governance import justification_field

EMAIL_FORMAT = "Enter an email address in the correct format, like name@example.org"


def role_choices(person: Person, leave_out: str = "") -> list[tuple[str, str]]:
    """The programme roles of the person's side (the Trust's or the Pause practice's), each saying
    whether it waits for a second person."""
    kind = person.organisation.kind
    return [
        (role.value, f"{role.label} (starts when a second person confirms it)" if role in SECOND_PERSON_ROLES
         else role.label)
        for role, spec in ROLE_SPECS.items()
        if spec.per_programme and spec.organisation_kind == kind and role != leave_out
    ]


class AddPersonForm(forms.Form):
    full_name = govuk(forms.CharField(
        label="Full name", max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": "Enter their full name",
                        "max_length": "Their full name must be 200 characters or fewer"}), size="")
    email = govuk(forms.EmailField(
        label="Email address", max_length=254,
        help_text="Their own work address. The one-time link to set up their account is emailed there, "
                  "and is never shown to you.",
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": "Enter their email address", "invalid": EMAIL_FORMAT,
                        "max_length": "Their email address must be 254 characters or fewer"}), size="")
    organisation = govuk(forms.ModelChoiceField(
        queryset=Organisation.objects.order_by("name"), label="Organisation", empty_label="Select an organisation",
        error_messages={"required": "Select their organisation", "invalid_choice": "Select their organisation"}),
        size="")

    def clean_full_name(self) -> str:
        name = self.cleaned_data["full_name"].strip()
        if not name:
            raise ValidationError("Enter their full name")
        return name

    def clean_email(self) -> str:
        email = require_plain_email(self.cleaned_data["email"])
        if Person.objects.by_email(email).exists():
            raise ValidationError("Someone with this email address already has an account")
        return email


class GrantRoleForm(forms.Form):
    programme = govuk(forms.ModelChoiceField(
        queryset=Programme.objects.none(), label="Programme", widget=forms.RadioSelect, empty_label=None,
        error_messages={"required": "Select a programme", "invalid_choice": "Select a programme"}),
        size="m")
    role = govuk(forms.ChoiceField(
        label="Role", widget=forms.RadioSelect,
        error_messages={"required": "Select a role", "invalid_choice": "Select a role"}), size="m")

    def __init__(self, *args, person: Person, **kwargs):
        super().__init__(*args, **kwargs)
        held = Membership.objects.filter(
            person=person, status__in=[MembershipStatus.PENDING, MembershipStatus.ACTIVE]
        ).values("programme_id")
        self.fields["programme"].queryset = (
            Programme.objects.filter(Q(trust=person.organisation) | Q(pause_practice=person.organisation))
            .exclude(pk__in=held).order_by("name")
        )
        self.fields["role"].choices = role_choices(person)


class ChangeRoleForm(forms.Form):
    role = govuk(forms.ChoiceField(
        label="Their new role", widget=forms.RadioSelect,
        error_messages={"required": "Select their new role", "invalid_choice": "Select their new role"}),
        size="m", heading=True)

    def __init__(self, *args, membership: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(membership.person, leave_out=membership.role)

    @property
    def new_role(self) -> Role:
        return Role(self.cleaned_data["role"])


class GrantConfirmForm(forms.Form):
    """Confirming a grant needs the confirmer's justification: it goes into the programme's
    Caldicott log (ADR 45) with the same warning against personal data as every other decision."""

    justification = justification_field(needed="Needed to confirm the grant.",
                                        required_error="Enter your justification for confirming the grant")
