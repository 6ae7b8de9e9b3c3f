"""Forms of the delivery pages: the Trust lead's release and withdrawal, restrictions (Trust lead
and DPO), and the Pause lead's target group and caseload assignment. Ids posted are checked again
by the views (fetch and authorise) and by the actions; messages follow the GOV.UK patterns."""

from __future__ import annotations

from django import forms

from eligibility.models import RestrictionReason
from pause_portal.form_rendering import NotEchoedInput, govuk
from pseudonymisation.blind_index import IndexKind, normalise_nhs_number
from sharing.caseloads import TARGET_REASON_MAX
from sharing.delivery_release import MAX_ADDRESS_LENGTH, MAX_APPROACH_REASON_LENGTH


def address_field(pk: int) -> str:
    return f"address_{pk}"


def approach_field(pk: int) -> str:
    return f"approach_again_{pk}"


class DeliveryReleaseForm(forms.Form):
    """Which of the releasable women to release, the address for each one chosen, and the Trust
    contact Pause should talk to."""

    women = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), error_messages={"required": "Choose at least one woman to release"})
    trust_contact = forms.TypedChoiceField(
        label="Trust contact", coerce=int, choices=(),
        help_text="The person at the Trust Pause should talk to about these women.",
        error_messages={"required": "Choose the Trust contact Pause should talk to",
                        "invalid_choice": "Choose the Trust contact Pause should talk to"})

    def __init__(self, *args, candidates=(), contacts=(), names=None, asks_address=True, marked=None, **kwargs):
        """`names`: each candidate's name as served (for the messages); `asks_address`: whether the
        agreement in force shares an address to contact her at (no address field otherwise);
        `marked`: candidate -> her live do-not-approach marker in words (she is released only with
        the Trust's reason to approach her again)."""
        super().__init__(*args, **kwargs)
        self.names = names or {}
        self.marked = {pk: words for pk, words in (marked or {}).items() if pk in candidates}
        for pk in self.marked:
            self.fields[approach_field(pk)] = govuk(forms.CharField(
                label=f"Why the Trust has decided to approach {self.names.get(pk) or 'her'} again",
                help_text="Only if the Trust has decided so: this is recorded in the audit trail. Do not enter "
                          "her name or other details about her.",
                required=False, max_length=MAX_APPROACH_REASON_LENGTH, strip=True,
                widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
                error_messages={"max_length": f"The reason must be {MAX_APPROACH_REASON_LENGTH} characters or fewer"}))
        self.asks_address = asks_address
        self.fields["women"].choices = [(pk, str(pk)) for pk in candidates]
        self.fields["women"].error_messages["invalid_choice"] = (
            "A woman chosen can no longer be released: reload the page and choose again")
        self.fields["trust_contact"].choices = [("", "Choose a Trust contact"), *contacts]
        for pk in candidates if asks_address else ():  # each in her row of the table, labelled with her name
            self.fields[address_field(pk)] = govuk(forms.CharField(
                required=False, max_length=MAX_ADDRESS_LENGTH, strip=True,
                widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off", "class": "govuk-!-margin-bottom-0"}),
                error_messages={"max_length": f"The address must be {MAX_ADDRESS_LENGTH} characters or fewer"}),
                hidden_label=True, group_class="govuk-!-margin-bottom-0")

    def clean(self):
        data = super().clean()
        for pk in (data.get("women") or []):
            if pk in self.marked and not data.get(approach_field(pk)) and approach_field(pk) not in self.errors:
                self.add_error(approach_field(pk), f"{self.marked[pk]}. To release {self.names.get(pk) or 'her'}, "
                                                   "say why the Trust has decided to approach her again")
        for pk in (data.get("women") or []) if self.asks_address else ():
            if not data.get(address_field(pk)) and address_field(pk) not in self.errors:
                self.add_error(address_field(pk), f"Enter the address Pause should contact "
                                                  f"{self.names.get(pk) or 'her'} at")
        return data

    def address_of(self, pk: int) -> str:
        return (self.cleaned_data.get(address_field(pk)) or "") if self.asks_address else ""

    def approach_reason_of(self, pk: int) -> str:
        return (self.cleaned_data.get(approach_field(pk)) or "") if pk in self.marked else ""


class ReleasedWomanForm(forms.Form):
    """One released woman, by id (withdrawing her release)."""

    released = forms.IntegerField(min_value=1, error_messages={"required": "Choose a woman",
                                                               "invalid": "Choose a woman",
                                                               "min_value": "Choose a woman"})


FIND_KINDS = [(str(IndexKind.PERSON_ID), "Trust person ID"), (str(IndexKind.NHS_NUMBER), "NHS number")]


class RestrictForm(forms.Form):
    """Find a woman by an exact Trust person id or NHS number (posted, never in the address) and
    say why her records are restricted."""

    kind = govuk(forms.ChoiceField(label="Find her by", choices=FIND_KINDS, widget=forms.RadioSelect,
                                   error_messages={"required": "Select what to find her by",
                                                   "invalid_choice": "Select what to find her by"}), small=True)
    q = forms.CharField(label="Trust person ID or NHS number", max_length=100, strip=True,
                        help_text="Exactly as in the Trust's records. Searched without storing or showing it.",
                        widget=NotEchoedInput(attrs={"class": "govuk-input--width-20", "autocomplete": "off",
                                                     "spellcheck": "false"}),
                        error_messages={"required": "Enter her Trust person ID or NHS number",
                                        "max_length": "The Trust person ID or NHS number must be 100 characters "
                                                      "or fewer"})
    reason = forms.ChoiceField(label="Why are her records restricted?", choices=RestrictionReason.choices,
                               widget=forms.RadioSelect,
                               error_messages={"required": "Select why her records are restricted",
                                               "invalid_choice": "Select why her records are restricted"})

    def clean(self):
        data = super().clean()
        text = data.get("q")
        if text and data.get("kind") == IndexKind.NHS_NUMBER:
            try:
                data["q"] = normalise_nhs_number(text)
            except ValueError:
                self.add_error("q", "Enter an NHS number of 10 digits, like 999 123 4567")
        return data


class EndRestrictionForm(forms.Form):
    restriction = forms.IntegerField(min_value=1, error_messages={"required": "Choose a restriction",
                                                                  "invalid": "Choose a restriction",
                                                                  "min_value": "Choose a restriction"})


class TargetForm(forms.Form):
    """Her place in the target group, with the reason (kept encrypted)."""

    position = forms.IntegerField(
        label="Place in the target group", required=False, min_value=1, max_value=100000,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-5", "inputmode": "numeric"}),
        help_text="1 is the first woman to contact. Leave empty to take her out of the target group.",
        error_messages={"invalid": "Enter her place in the target group as a whole number, like 3",
                        "min_value": "Enter a place in the target group of 1 or more",
                        "max_value": "Enter a place in the target group of 100000 or less"})
    reason = forms.CharField(
        label="Reason", widget=forms.Textarea(attrs={"rows": 3}), max_length=TARGET_REASON_MAX, strip=True,
        help_text="Why she is placed here. Kept encrypted; seen by the Pause lead and her practitioner.",
        error_messages={"required": "Enter the reason for her place in the target group",
                        "max_length": f"The reason must be {TARGET_REASON_MAX} characters or fewer"})


NOBODY = ""


class AssignForm(forms.Form):
    """Which practitioner's caseload she is in (or nobody's); `in_row_of` names her when the form is
    in her row of a table."""

    practitioner = forms.TypedChoiceField(
        label="Practitioner", coerce=int, empty_value=None, required=False, choices=(),
        help_text="Only this practitioner (and you) will see her. Changing it takes her out of the previous "
                  "practitioner's caseload at once.",
        error_messages={"invalid_choice": "Choose a practitioner of this programme"})

    def __init__(self, *args, practitioners=(), in_row_of: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["practitioner"]
        field.choices = [(NOBODY, "Nobody (not in a caseload)"), *practitioners]
        if in_row_of:
            field.label, field.help_text = f"Practitioner for {in_row_of}", ""
            govuk(field, hidden_label=True, group_class="govuk-!-margin-bottom-1")
