"""Forms of the scoping pages: the Trust lead's release, the Pause lead's notes and exports."""

from __future__ import annotations

from django import forms

from sharing.scoping_tables import TABLE_NAMES

NOTE_MAX = 5000


class ReleaseForm(forms.Form):
    """Which of the releasable women to release: those she ticks (nothing arrives ticked), or, with
    `choose=all`, every woman who can be released (an explicit choice, made on the server, so it
    needs no JavaScript). The ids are checked again on the check page and by the action."""

    CHOSEN, ALL = "chosen", "all"
    NOBODY = "Choose at least one woman to release, or select all that can be released"

    choose = forms.ChoiceField(choices=[(CHOSEN, "The women ticked"), (ALL, "Every woman who can be released")],
                               required=False, error_messages={"invalid_choice": NOBODY})
    women = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=False)

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["women"].choices = [(pk, str(pk)) for pk in choices]
        self.fields["women"].error_messages["invalid_choice"] = (
            "A woman chosen can no longer be released: reload the page and choose again")

    def clean(self):
        data = super().clean()
        if data.get("choose") == self.ALL:
            data["women"] = [pk for pk, _ in self.fields["women"].choices]
        if not data.get("women") and not self.has_error("women"):
            self.add_error("women", self.NOBODY)
        return data

    @property
    def chose_all(self) -> bool:
        return self.cleaned_data.get("choose") == self.ALL


class ConfirmReleaseForm(ReleaseForm):
    """The check page's confirmation: the women it showed (hidden inputs, checked again against
    those who can be released now) and `checked`, a digest of the snapshot and the check's report
    as the page showed them, so that a release that would now differ is refused."""

    checked = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["choose"]  # exactly the women the page showed, never "all" as it is now


class NoteForm(forms.Form):
    text = forms.CharField(
        label="New note", max_length=NOTE_MAX, strip=True, widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Enter your note",
                        "max_length": f"Your note must be {NOTE_MAX} characters or fewer"})


class ExportForm(forms.Form):
    table = forms.ChoiceField(choices=[(n, n) for n in TABLE_NAMES],
                              error_messages={"required": "Choose a table to export",
                                              "invalid_choice": "Choose a table to export"})
