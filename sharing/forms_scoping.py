"""Forms of the scoping pages: the Trust lead's release, the Pause lead's notes and exports."""

from __future__ import annotations

from django import forms

from sharing.scoping_tables import TABLE_NAMES

NOTE_MAX = 5000


class ReleaseForm(forms.Form):
    """Which of the releasable women to release (their ids are checked again by the action)."""

    women = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), error_messages={"required": "Choose at least one woman to release"})

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["women"].choices = [(pk, str(pk)) for pk in choices]
        self.fields["women"].error_messages["invalid_choice"] = (
            "A woman chosen can no longer be released: reload the page and choose again")


class NoteForm(forms.Form):
    text = forms.CharField(
        max_length=NOTE_MAX, strip=True,
        error_messages={"required": "Enter your note",
                        "max_length": f"Your note must be {NOTE_MAX} characters or fewer"})


class ExportForm(forms.Form):
    table = forms.ChoiceField(choices=[(n, n) for n in TABLE_NAMES],
                              error_messages={"required": "Choose a table to export",
                                              "invalid_choice": "Choose a table to export"})
