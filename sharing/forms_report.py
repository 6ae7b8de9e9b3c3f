"""The final scoping report's forms (GOV.UK error messages)."""

from __future__ import annotations

from django import forms

from sharing.final_report import BODY_MAX, TITLE_MAX
from sharing.report_tables import TABLES


class ReportForm(forms.Form):
    title = forms.CharField(label="Title", max_length=TITLE_MAX,
                            error_messages={"required": "Enter a title for the report",
                                            "max_length": f"The title must be {TITLE_MAX} characters or fewer"})
    body = forms.CharField(label="Findings", widget=forms.Textarea(attrs={"rows": 10}), required=False,
                           max_length=BODY_MAX,
                           help_text="Aggregate findings only: never a name, date of birth, token or anything "
                                     "that could point to one woman or child.",
                           error_messages={"max_length": f"The findings must be {BODY_MAX} characters or fewer"})
    tables = forms.MultipleChoiceField(label="Tables to include", required=False,
                                       choices=[(k, v[0]) for k, v in TABLES.items()],
                                       widget=forms.CheckboxSelectMultiple,
                                       error_messages={"invalid_choice": "Select tables from the list"})


class ReturnForm(forms.Form):
    reason = forms.CharField(label="What needs to change", widget=forms.Textarea(attrs={"rows": 4}), max_length=2000,
                             error_messages={"required": "Enter what needs to change",
                                             "max_length": "The reason must be 2000 characters or fewer"})
