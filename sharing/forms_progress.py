"""The quarterly progress report's draft form (GOV.UK error messages)."""

from __future__ import annotations

from django import forms

from sharing.progress_reports import COMMENTARY_MAX, QuarterOf, commentary_problem


class DraftForm(forms.Form):
    quarter = forms.ChoiceField(label="Quarter the report is for",
                                help_text="Quarters that have ended, after the last report sent.",
                                error_messages={"required": "Choose the quarter the report is for",
                                                "invalid_choice": "Choose a quarter from the list"})
    commentary = forms.CharField(
        label="Commentary (optional)", widget=forms.Textarea(attrs={"rows": 6}), required=False,
        max_length=COMMENTARY_MAX,
        help_text="Words only, about the programme as a whole: no figures (they belong in the table, where small "
                  "ones are suppressed), and nothing about any one woman.",
        error_messages={"max_length": f"The commentary must be {COMMENTARY_MAX} characters or fewer"})

    def __init__(self, *args, quarters: list[QuarterOf], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quarter"].choices = [(q.key, q.label) for q in quarters]

    def clean_quarter(self) -> QuarterOf:
        return QuarterOf.parse(self.cleaned_data["quarter"])

    def clean_commentary(self) -> str:
        text = self.cleaned_data["commentary"].strip()
        problem = commentary_problem(text)
        if problem:
            raise forms.ValidationError(problem)
        return text
