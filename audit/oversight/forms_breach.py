"""The forms of suspected breaches (anyone reports one), of the DPO's triage and flag escalation,
and of the women a breach affects (issue 23, point 4; ADR 49)."""

from __future__ import annotations

from django import forms

from audit.core.models_rights import Art34Exception, BreachRisk, Systems
from audit.oversight.breach_reports import REPORT_MAX
from audit.oversight.forms_rights import YES_NO, DatePartsForm, _date, _radios, _text, _time

NO_NAMES = ("Do not write anyone's name or details: not the woman's, not a child's, not a colleague's. Say what "
            "kind of information, how much, and how it went wrong. The DPO will ask for more.")


class ReportForm(DatePartsForm):
    what_happened = _text("What happened", "Enter what happened", REPORT_MAX, hint=NO_NAMES, rows=5)
    noticed = _date("When did it happen, or when was it noticed?", "For example 27 3 2026")
    noticed_time = _time()
    pause_side = _radios("Is Pause's side involved?", YES_NO, "Select yes if Pause's side is involved",
                         hint="Pause's people, its systems or devices, or data Pause holds. If you work for Pause, "
                              "it is.", small=True)
    systems = _radios("Whose systems or devices are involved?", Systems.choices,
                      "Select whose systems or devices are involved", small=True)

    def clean(self):
        data = super().clean()
        data["noticed_at"] = self.read_moment("noticed", "noticed_time", "when it happened or was noticed")
        return data


class _Assessment(DatePartsForm):
    people_affected = _text("Who is affected, and which of their records", "Enter who is affected",
                            hint="Categories of people and of records. Kept encrypted.")
    affected_count = forms.IntegerField(label="How many people, roughly (if known)", required=False, min_value=0,
                                        widget=forms.TextInput(attrs={"class": "govuk-input--width-5",
                                                                      "inputmode": "numeric"}),
                                        error_messages={"invalid": "The number of people must be a whole number",
                                                        "min_value": "The number of people cannot be negative"})
    risk = _radios("What is the risk to the people affected?", BreachRisk.choices, "Select the risk to the people")
    actions_taken = _text("What has been done", None, optional=True,
                          hint="To contain it, and so it does not happen again. Kept encrypted.")
    aware = _date("When did the controller become aware of it? (if not as shown)",
                  "The 72 hours to the ICO run from here. Leave it empty for the moment shown. For example 27 3 2026")
    aware_time = _time()
    aware_reason = _text("Why then", None, 1000, optional=True, rows=2,
                         hint="Needed when you change the moment. No names.")

    def clean(self):
        data = super().clean()
        data["aware_at"] = self.read_moment("aware", "aware_time", "when the controller became aware", required=False)
        return data


class TriageForm(_Assessment):
    """The DPO records a report as a breach."""


class DismissForm(forms.Form):
    reason = _text("Why is it not a personal data breach?", "Enter why it is not a breach", 1000, rows=3,
                   hint="No names.")


class EscalateForm(_Assessment):
    """The DPO escalates a monitoring flag into a breach."""

    what_happened = _text("What happened", "Enter what happened", hint="Kept encrypted.")
    pause_side = _radios("Is Pause's side involved?", YES_NO, "Select yes if Pause's side is involved", small=True)
    field_order = ["what_happened", "pause_side"]


class WomenForm(forms.Form):
    references = _text("The women affected, by reference", "Enter at least one woman's reference", 20000, rows=3,
                       hint="References like eligibility.woman:12, as the access review shows them, separated by "
                            "spaces or commas. Never a name.")


class WomanToldForm(DatePartsForm):
    OUTCOMES = [("told", "She was told"), *Art34Exception.choices]

    affected = forms.IntegerField(widget=forms.HiddenInput)
    outcome = _radios("Was she told?", OUTCOMES, "Select whether she was told, or which exception applies",
                      small=True)
    told_on = _date("If she was told, on which day?", "For example 27 3 2026")

    def clean(self):
        data = super().clean()
        data["told_day"] = None
        if data.get("outcome") == "told":
            data["told_day"] = self.read_date("told_on", "the day she was told")
        return data
