"""The decision queue's filter and search forms, and the eligibility decision form.

Search never reads plaintext: each kind of search is turned into blind-index terms
(`pseudonymisation.blind_index`), so only an exact match finds a woman. A surname is searched
alone (its own index) or, when a date of birth is given too, with it (the surname + date of birth
index). The search is posted, never put in the address: NHS numbers and surnames stay out of
browser history and access logs. Messages follow the GOV.UK error message pattern.
"""

from __future__ import annotations

from datetime import date

from django import forms

from eligibility.decisions import REASON_MAX
from eligibility.models import DecisionOutcome, Proposal
from pause_portal.form_rendering import DatePartsField, govuk
from pseudonymisation.blind_index import IndexKind, normalise_nhs_number, normalise_surname

PROPOSED = "proposed"  # any proposal but "not proposed": the queue's default
ANY = "any"
UNDECIDED = "undecided"
RE_REVIEW = "re_review"

PROPOSAL_FILTERS = [
    (PROPOSED, "Proposed (eligible, at risk or needs review)"),
    *[(str(v), label) for v, label in Proposal.choices],
    (ANY, "Any proposal, including not proposed"),
]
DECISION_FILTERS = [
    (ANY, "Any"),
    (UNDECIDED, "No decision yet"),
    (RE_REVIEW, "Re-review needed"),
    *[(str(v), label) for v, label in DecisionOutcome.choices],
]
SEARCH_KINDS = [
    (str(IndexKind.PERSON_ID), "Trust person ID"),
    (str(IndexKind.NHS_NUMBER), "NHS number"),
    (str(IndexKind.SURNAME), "Surname"),
]


class FilterForm(forms.Form):
    """The query string of the queue page: which proposals and decisions to list."""

    proposal = forms.ChoiceField(label="Proposal", choices=PROPOSAL_FILTERS, required=False)
    decision = forms.ChoiceField(label="Decision", choices=DECISION_FILTERS, required=False)

    def clean(self):
        data = super().clean()
        data["proposal"] = data.get("proposal") or PROPOSED
        data["decision"] = data.get("decision") or ANY
        return data


class SearchForm(forms.Form):
    """A posted exact search for one woman, whatever her proposal or decision."""

    kind = govuk(forms.ChoiceField(label="Search by", choices=SEARCH_KINDS, required=False,
                                   error_messages={"invalid_choice": "Select what to search by"}), size="")
    q = govuk(forms.CharField(label="Trust person ID, NHS number or surname", required=False, max_length=100,
                              widget=forms.TextInput(attrs={"type": "search", "spellcheck": "false",
                                                            "autocomplete": "off"}),
                              error_messages={"max_length": "The search must be 100 characters or fewer"}), size="")
    dob = govuk(DatePartsField(label="Date of birth (optional, to narrow a surname search)",
                               help_text="For example, 27 3 1990"), size="")

    def clean(self):
        data = super().clean()
        data["search"] = None  # (IndexKind, value) once valid
        text = (data.get("q") or "").strip()
        kind = data.get("kind") or str(IndexKind.PERSON_ID)
        if "dob" in self.errors:
            return data
        dob_parts = list(data.get("dob") or ("", "", ""))
        if not text:
            self.add_error("q", "Enter the surname to search for" if any(dob_parts) else
                           "Enter a Trust person ID, NHS number or surname to search for")
            return data
        if kind != IndexKind.SURNAME and any(dob_parts):
            self.add_error("dob", "Leave the date of birth empty: it narrows a search by surname only")
            return data
        if kind == IndexKind.NHS_NUMBER:
            try:
                data["search"] = (IndexKind.NHS_NUMBER, normalise_nhs_number(text))
            except ValueError:
                self.add_error("q", "Enter an NHS number of 10 digits, like 999 123 4567")
        elif kind == IndexKind.SURNAME:
            try:
                normalise_surname(text)
            except ValueError:
                self.add_error("q", "Enter a surname with at least one letter")
                return data
            if not any(dob_parts):
                data["search"] = (IndexKind.SURNAME, text)
            elif (born := _date_of(*dob_parts)) is None:
                self.add_error("dob", "Enter her date of birth as a real date, like 27 3 1990, "
                                          "or leave it out to search by surname alone")
            else:
                data["search"] = (IndexKind.SURNAME_DOB, (text, born))
        else:
            data["search"] = (IndexKind.PERSON_ID, text)
        return data


def _date_of(day: str, month: str, year: str) -> date | None:
    if not (day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4):
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


class DecisionForm(forms.Form):
    outcome = govuk(forms.ChoiceField(
        label="What is your decision?",
        choices=DecisionOutcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select your decision",
                        "invalid_choice": "Select your decision"},
    ), size="m", heading=True)
    reason = forms.CharField(
        label="Reason for your decision",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=REASON_MAX,
        help_text="For example, what you checked in the case management system. The reason is kept "
                  "encrypted with the decision.",
        error_messages={"required": "Enter the reason for your decision",
                        "max_length": f"The reason must be {REASON_MAX} characters or fewer"},
    )
