"""Search and filters on the lists of people (issue 24): the Pause practitioner's caseload, the
Pause lead's released women, the concerns list and the People page.

Filters are in the query string (they name no one: a participation status, a practitioner's id,
a status, an organisation, a role). A search by name is posted, never put in the address, and is
not written to the audit trail: it stays out of browser history and access logs, as the decision
queue's search does. Names are encrypted at rest, so a search never reaches the database: it is
matched in Python against the names the page is served (`eligibility.disclosure.disclose`), so it
finds only someone the person may already see, by the name they are shown.
"""

from __future__ import annotations

from django import forms

from pause_portal.form_rendering import NotEchoedInput, govuk
from pause_portal.tenancy.roles import Role
from sharing.models_caldicott import DecisionKind
from sharing.models_delivery import ConcernKind, ConcernStatus, Participation

ANY = ""
UNASSIGNED = "none"
SEARCH_MAX = 100


def matches(shown: str, search: str) -> bool:
    """Whether every word searched for is part of the name as shown (any letter case)."""
    text = shown.casefold()
    return all(word in text for word in search.casefold().split())


class NameSearchForm(forms.Form):
    """A posted search by name; an empty one shows everyone again."""

    name = govuk(forms.CharField(
        label="Search by name", required=False, max_length=SEARCH_MAX,
        help_text="Part of the name is enough, for example a surname",
        # Not shown back: a name searched for stays out of the page, as out of the address.
        widget=NotEchoedInput(attrs={"type": "search", "spellcheck": "false", "autocomplete": "off"}),
        error_messages={"max_length": f"The name must be {SEARCH_MAX} characters or fewer"}), size="s")

    def __init__(self, *args, label: str = "", hint: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if label:
            self.fields["name"].label = label
        if hint:
            self.fields["name"].help_text = hint

    @property
    def search(self) -> str:
        """The words searched for, once valid ("" for none)."""
        return (self.cleaned_data.get("name") or "").strip() if self.is_bound and self.is_valid() else ""


def _with_any(label: str, choices) -> list[tuple[str, str]]:
    return [(ANY, label), *[(str(v), str(text)) for v, text in choices]]


class WomenFilterForm(forms.Form):
    """The released women (Pause lead) and the caseload: by participation and, for the Pause lead,
    by practitioner."""

    participation = govuk(forms.ChoiceField(
        label="Participation", required=False, choices=_with_any("Any participation", Participation.choices),
        error_messages={"invalid_choice": "Select a participation from the list"}))
    practitioner = govuk(forms.ChoiceField(
        label="Practitioner", required=False, choices=(),
        error_messages={"invalid_choice": "Select a practitioner from the list"}))

    def __init__(self, *args, practitioners=None, **kwargs):
        """`practitioners`: (person id, name) to filter by; None for a list without that filter."""
        super().__init__(*args, **kwargs)
        if practitioners is None:
            del self.fields["practitioner"]
        else:
            self.fields["practitioner"].choices = [(ANY, "Any practitioner"), (UNASSIGNED, "Not assigned"),
                                                   *[(str(pk), name) for pk, name in practitioners]]

    def chosen(self) -> dict:
        return self.cleaned_data if self.is_valid() else {}


class ConcernFilterForm(forms.Form):
    status = govuk(forms.ChoiceField(
        label="Status", required=False, choices=_with_any("Any status", ConcernStatus.choices),
        error_messages={"invalid_choice": "Select a status from the list"}))
    kind = govuk(forms.ChoiceField(
        label="Kind", required=False, choices=_with_any("Any kind", ConcernKind.choices),
        error_messages={"invalid_choice": "Select a kind from the list"}))

    def chosen(self) -> dict:
        return self.cleaned_data if self.is_valid() else {}


class CaldicottLogFilterForm(forms.Form):
    """The Caldicott log's filter by what was decided (ADR 45)."""

    kind = govuk(forms.ChoiceField(
        label="What was decided", required=False, choices=_with_any("Everything", DecisionKind.choices),
        error_messages={"invalid_choice": "Select what was decided from the list"}))

    def chosen_kind(self) -> str:
        return self.cleaned_data["kind"] if self.is_valid() else ANY


ACTIVE, DEACTIVATED = "active", "deactivated"
SYSTEM_ADMIN = str(Role.SYSTEM_ADMIN)  # a person's flag as well as a role


class PeopleFilterForm(forms.Form):
    organisation = govuk(forms.ChoiceField(
        label="Organisation", required=False, choices=(),
        error_messages={"invalid_choice": "Select an organisation from the list"}))
    role = govuk(forms.ChoiceField(
        label="Role", required=False,
        choices=_with_any("Any role", Role.choices),
        error_messages={"invalid_choice": "Select a role from the list"}))
    status = govuk(forms.ChoiceField(
        label="Status", required=False, choices=[(ANY, "Active or deactivated"), (ACTIVE, "Active"),
                                                 (DEACTIVATED, "Deactivated")],
        error_messages={"invalid_choice": "Select a status from the list"}))

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = [(ANY, "Any organisation"),
                                               *[(str(pk), name) for pk, name in organisations]]

    def chosen(self) -> dict:
        return self.cleaned_data if self.is_valid() else {}
