"""Forms of the DPO's access review, the monitoring flags and the declared-conflicts register.

Identifiers (a Trust person id, an NHS number, a token) arrive only in posted forms and are turned
into blind-index terms or token look-ups at once; they are never stored, put in an address or
written to the trail. The DPO's reason is written to the trail, so it is checked to carry no
identifier: not the value searched for, no run of six or more digits, nothing shaped like a token.
Messages follow the GOV.UK error message pattern.
"""

from __future__ import annotations

import re
from datetime import date

from django import forms

from audit.core.models_review import ConflictKind, FlagRule, FlagStatus, Relationship
from audit.oversight.review import Action
from audit.oversight.review_actions import NOTE_MAX, REASON_MAX
from pause_portal.form_rendering import govuk
from pseudonymisation.blind_index import normalise_nhs_number
from pseudonymisation.errors import InvalidToken
from pseudonymisation.tokens import normalise_token

PERSON_KINDS = [
    ("person_id", "Trust person ID"),
    ("nhs_number", "NHS number"),
    ("token", "Token (scoping or delivery)"),
]
DIGIT_RUN = re.compile(r"\d[\d\s-]{4,}\d")
TOKEN_SHAPE = re.compile(r"\b[WC][\s-]?[0-9A-Z]{4}[\s-]?[0-9A-Z]{4}[\s-]?[0-9A-Z]{4}", re.IGNORECASE)
DATE_FORMATS = ["%d/%m/%Y", "%d %m %Y", "%Y-%m-%d"]
WIDTH_10 = {"class": "govuk-input--width-10"}


def _compact(text: str) -> str:
    return re.sub(r"[\s-]", "", text or "").upper()


def reason_problem(reason: str, searched: str = "") -> str | None:
    """Why a reason cannot go into the trail, or None."""
    if searched and _compact(searched) and _compact(searched) in _compact(reason):
        return "Remove the identifier from your reason: the reason is kept in the audit trail"
    if DIGIT_RUN.search(reason) and sum(c.isdigit() for c in reason) >= 6:
        return "Remove numbers of six digits or more from your reason: it must not carry an NHS number or ID"
    if TOKEN_SHAPE.search(reason):
        return "Remove the token from your reason: the reason is kept in the audit trail"
    return None


def _reason_field(required: bool, label: str = "Why are you searching?", hint: str = "") -> forms.CharField:
    return forms.CharField(
        label=label, required=required, max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=hint,
        error_messages={"required": "Enter your reason", "max_length": f"The reason must be {REASON_MAX} "
                                                                       "characters or fewer"})


class PersonSearchForm(forms.Form):
    """A person search is made for one of the programme's open rights requests (`requests`, offered by
    reference) or, when it is not tied to a request (an investigation: a monitoring flag, a breach),
    for a free-text reason. With a request the reason is optional; without one it is required."""

    prefix = "person"  # three search forms share the DPO's page: their ids must not clash
    kind = govuk(forms.ChoiceField(label="Search by", choices=PERSON_KINDS, widget=forms.RadioSelect,
                                   error_messages={"required": "Select what you are searching by",
                                                   "invalid_choice": "Select what you are searching by"}),
                 small=True)
    value = forms.CharField(label="Trust person ID, NHS number or token", max_length=100,
                            help_text="Her Trust person ID or NHS number, or a scoping or delivery token. It is used "
                                      "for this search only and never kept.",
                            widget=forms.TextInput(attrs={"class": "govuk-!-width-two-thirds", "spellcheck": "false",
                                                          "autocomplete": "off"}),
                            error_messages={"required": "Enter the Trust person ID, NHS number or token",
                                            "max_length": "The identifier must be 100 characters or fewer"})
    rights_request = forms.TypedChoiceField(
        label="Which rights request is this search for?", required=False, coerce=int, empty_value=None,
        help_text="A search for a rights request must find the woman the request is about. Only this programme's "
                  "open requests are listed.",
        error_messages={"invalid_choice": "Select an open rights request from the list, or none and give your reason"})
    reason = _reason_field(False, "Why are you searching for this person?",
                           "Required when the search is not for a rights request: for example, the monitoring flag or "
                           "breach you are investigating. Optional otherwise. Do not include the identifier: the "
                           "reason is kept in the audit trail.")

    def __init__(self, *args, requests: list = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.requests = {r.pk: r for r in requests}
        self.fields["rights_request"].choices = [
            ("", "None: an investigation (give your reason below)"),
            *[(r.pk, f"{r.reference} (due {r.due_on.day} {r.due_on:%b %Y})") for r in requests]]

    def clean(self):
        data = super().clean()
        kind, value = data.get("kind"), (data.get("value") or "").strip()
        if kind and value:
            if kind == "nhs_number":
                try:
                    data["value"] = normalise_nhs_number(value)
                except ValueError:
                    self.add_error("value", "Enter an NHS number of 10 digits, like 999 123 4567")
            elif kind == "token":
                try:
                    data["value"] = normalise_token(value)
                except InvalidToken as problem:
                    self.add_error("value", f"Enter a token like W-7KX2-9QPM-4TBD-Q: {problem}")
            else:
                data["value"] = value
        data["request"] = self.requests.get(data.get("rights_request"))
        if data.get("reason") and (problem := reason_problem(data["reason"], value)):
            self.add_error("reason", problem)
        elif not data.get("reason") and data["request"] is None and "rights_request" not in self.errors:
            self.add_error("reason", "Enter your reason, or choose the rights request this search is for")
        return data


class TrailSearchForm(forms.Form):
    prefix = "trail"
    user = forms.TypedChoiceField(label="Member of staff", required=False, coerce=int, empty_value=None,
                                  error_messages={"invalid_choice": "Select a member of staff from the list"})
    organisation = forms.TypedChoiceField(label="Organisation", required=False, coerce=int, empty_value=None,
                                          error_messages={"invalid_choice": "Select an organisation from the list"})
    action = forms.ChoiceField(label="Action", required=False, choices=[("", "Any action"), *Action.CHOICES],
                               error_messages={"invalid_choice": "Select an action from the list"})
    date_from = forms.DateField(label="From", required=False, input_formats=DATE_FORMATS,
                                help_text="For example, 27/3/2026", widget=forms.DateInput(attrs=WIDTH_10),
                                error_messages={"invalid": "Enter the first date as day/month/year, like 27/3/2026"})
    date_to = forms.DateField(label="To", required=False, input_formats=DATE_FORMATS,
                              help_text="For example, 31/3/2026", widget=forms.DateInput(attrs=WIDTH_10),
                              error_messages={"invalid": "Enter the last date as day/month/year, like 27/3/2026"})
    flag = forms.ChoiceField(label="Flag", required=False,
                             choices=[("", "Any entry"), ("any", "Flagged by any rule"), *FlagRule.choices],
                             error_messages={"invalid_choice": "Select a flag from the list"})
    reason = _reason_field(False, "Why are you searching? (optional)")

    def __init__(self, *args, members: list = (), organisations: list = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [("", "Anyone"), *[(p.pk, p.full_name) for p in members]]
        self.fields["organisation"].choices = [("", "Any organisation"), *[(o.pk, o.name) for o in organisations]]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The last date must be the same as or after the first date")
        if end and end > date.today().replace(year=date.today().year + 1):
            self.add_error("date_to", "The last date must be within the next year")
        if data.get("reason") and (problem := reason_problem(data["reason"])):
            self.add_error("reason", problem)
        return data


class UserReportForm(forms.Form):
    prefix = "staff"
    user = forms.TypedChoiceField(label="Member of staff", coerce=int,
                                  error_messages={"required": "Select a member of staff",
                                                  "invalid_choice": "Select a member of staff from the list"})
    reason = _reason_field(False, "Why are you reviewing their access? (optional)")

    def __init__(self, *args, members: list = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [("", "Select a member of staff"), *[(p.pk, p.full_name) for p in members]]

    def clean(self):
        data = super().clean()
        if data.get("reason") and (problem := reason_problem(data["reason"])):
            self.add_error("reason", problem)
        return data


class ExportForm(forms.Form):
    reason = _reason_field(True, "Why are you exporting these entries?",
                           "The export is recorded with your reason and reported to the Caldicott Guardian. Do not "
                           "include an identifier.")

    def clean(self):
        data = super().clean()
        if data.get("reason") and (problem := reason_problem(data["reason"])):
            self.add_error("reason", problem)
        return data


INLINE = "govuk-!-display-inline-block govuk-!-margin-right-4"
ALL_STATUSES = "all"


class FlagFilterForm(forms.Form):
    """The flag list's filter, from the query string: what it asks for, or the default (open flags,
    any rule) where it asks for something unknown. Never an error: it is a filter."""

    status = govuk(forms.ChoiceField(label="Status", required=False,
                                     choices=[*FlagStatus.choices, (ALL_STATUSES, "Open and closed")]),
                   group_class=INLINE)
    rule = govuk(forms.ChoiceField(label="Rule", required=False, choices=[("", "Any rule"), *FlagRule.choices]),
                 group_class=INLINE)

    @classmethod
    def from_query(cls, query) -> FlagFilterForm:
        status, rule = query.get("status", FlagStatus.OPEN), query.get("rule", "")
        return cls(initial={"status": status if status in (*FlagStatus.values, ALL_STATUSES) else FlagStatus.OPEN,
                            "rule": rule if rule in FlagRule.values else ""})


class CloseFlagForm(forms.Form):
    note = forms.CharField(label="What did you find?", max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 4}),
                           help_text="What you checked and what you concluded. Do not include a person's identifiers.",
                           error_messages={"required": "Enter a note saying what you found",
                                           "max_length": f"The note must be {NOTE_MAX} characters or fewer"})


class ConflictForm(forms.Form):
    kind = govuk(forms.ChoiceField(label="What do you know about them?", choices=ConflictKind.choices,
                                   widget=forms.RadioSelect,
                                   error_messages={"required": "Select whether you have their Trust person ID or NHS "
                                                               "number",
                                                   "invalid_choice": "Select whether you have their Trust person ID "
                                                                     "or NHS number"}),
                 small=True)
    value = forms.CharField(label="Their Trust person ID or NHS number", max_length=100,
                            widget=forms.TextInput(attrs={"class": "govuk-!-width-one-half", "spellcheck": "false",
                                                          "autocomplete": "off"}),
                            error_messages={"required": "Enter their Trust person ID or NHS number",
                                            "max_length": "The identifier must be 100 characters or fewer"})
    relationship = govuk(forms.ChoiceField(label="How do you know them?", choices=Relationship.choices,
                                           widget=forms.RadioSelect,
                                           error_messages={"required": "Select how you know them",
                                                           "invalid_choice": "Select how you know them"}),
                         small=True)

    def clean(self):
        data = super().clean()
        if data.get("kind") == ConflictKind.NHS_NUMBER and data.get("value"):
            try:
                data["value"] = normalise_nhs_number(data["value"])
            except ValueError:
                self.add_error("value", "Enter an NHS number of 10 digits, like 999 123 4567")
        elif data.get("value"):
            data["value"] = data["value"].strip()
        return data
