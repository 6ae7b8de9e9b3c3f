"""Forms of the casework pages: a contact attempt, a concern raised, a concern closed. The actions
check everything again (`sharing.contact`, `sharing.concerns`); these parse and say what is
missing."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone

from pause_portal.form_rendering import DatePartsField, govuk
from sharing.concerns import TEXT_MAX, pause_bases_in_force
from sharing.contact import NOTE_MAX, OUTCOMES
from sharing.forms_bases import add_bases_fields, bases_initial, bases_posted
from sharing.models_delivery import ConcernKind, ContactMethod, Participation

NEITHER = "none"
OUTCOME_LABELS = {
    Participation.AGREED: "She agreed to take part",
    Participation.DECLINED: "She declined",
    Participation.NOT_REACHED: "She was not reached",
    Participation.WITHDREW: "She withdrew (after agreeing)",
}


class ContactForm(forms.Form):
    contacted = DatePartsField(label="Date of the attempt", help_text="Today or earlier, for example 27 3 2026")
    method = govuk(forms.ChoiceField(label="How did you try to contact her?", choices=ContactMethod.choices,
                                     widget=forms.RadioSelect,
                                     error_messages={"required": "Choose how you tried to contact her",
                                                     "invalid_choice": "Choose how you tried to contact her"}),
                   small=True)
    outcome = forms.ChoiceField(label="What came of it?", choices=[(o.value, OUTCOME_LABELS[o]) for o in OUTCOMES],
                                widget=forms.RadioSelect,
                                help_text="Choose 'Withdrew' only if she had agreed to take part and no longer "
                                          "wants to.",
                                error_messages={"required": "Choose what came of the attempt",
                                                "invalid_choice": "Choose what came of the attempt"})
    notices_given = govuk(forms.MultipleChoiceField(
        label="Which privacy notices was she given?", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Required when she was reached. The versions in force today are recorded with the attempt. If "
                  "you could not give them, choose Neither and give them at your next contact.",
        error_messages={"invalid_choice": "Choose the privacy notices she was given from the list"}), small=True)
    note = forms.CharField(label="Note (optional)", required=False, strip=True,
                           widget=forms.Textarea(attrs={"rows": 5}), max_length=NOTE_MAX,
                           help_text="What she said or what happens next. Kept encrypted; seen by her practitioner "
                                     "and the Pause lead.",
                           error_messages={"max_length": f"The note must be {NOTE_MAX} characters or fewer"})

    def __init__(self, *args, notices=None, **kwargs):
        """`notices`: controller -> the version of its notice in force (`sharing.contact.notices_in_force`)."""
        super().__init__(*args, **kwargs)
        self.fields["notices_given"].choices = [(c, n.label) for c, n in (notices or {}).items()] + [
            (NEITHER, "Neither: I will give them at the next contact")]
        if not self.is_bound:
            today = timezone.localdate()
            self.initial.update(contacted=(today.day, today.month, today.year))

    def clean(self):
        data = super().clean()
        parts = data.get("contacted") or ("", "", "")
        data["contacted_on"] = None
        if "contacted" in self.errors:
            pass
        elif not all(parts):
            self.add_error("contacted", "Enter the date of contact, with a day, month and year")
        else:
            try:
                if len(parts[2]) != 4:
                    raise ValueError
                data["contacted_on"] = date(int(parts[2]), int(parts[1]), int(parts[0]))
            except ValueError:
                self.add_error("contacted", "The date of contact must be a real date, for example 27 3 2026")
        answer = data.get("notices_given") or []
        if NEITHER in answer and len(answer) > 1:
            self.add_error("notices_given", "Choose the notices she was given, or Neither, not both")
        data["notices_given"] = None if not answer else [c for c in answer if c != NEITHER]
        return data


class ConcernForm(forms.Form):
    kind = forms.ChoiceField(label="What is it?", choices=ConcernKind.choices, widget=forms.RadioSelect,
                             error_messages={"required": "Choose whether this is a safeguarding concern or a serious "
                                                         "incident",
                                             "invalid_choice": "Choose whether this is a safeguarding concern or a "
                                                               "serious incident"})
    summary = forms.CharField(label="What happened, and what you know", strip=True,
                              widget=forms.Textarea(attrs={"rows": 8}), max_length=TEXT_MAX,
                              help_text="The Trust sees this. Write what they need to act; it is kept encrypted.",
                              error_messages={"required": "Describe the concern: what happened and what you know",
                                              "max_length": f"The description must be {TEXT_MAX} characters or "
                                                            "fewer"})

    def __init__(self, *args, programme_id: int, **kwargs):
        """Pause's lawful bases for telling the Trust, starting from Pause's in the agreement in force."""
        kwargs.setdefault("initial", bases_initial(pause_bases_in_force(programme_id), ("pause",)))
        super().__init__(*args, **kwargs)
        self.bases_names = add_bases_fields(self, "pause", programme_id, whose="Pause's")

    def bases_fields(self):
        return [self[n] for n in self.bases_names]

    def lawful_bases(self) -> dict:
        return bases_posted(self.cleaned_data, ("pause",))


class CloseConcernForm(forms.Form):
    closing_note = forms.CharField(label="Closing note", strip=True, widget=forms.Textarea(attrs={"rows": 5}),
                                   max_length=TEXT_MAX,
                                   help_text="What the Trust did, and why it is closed. Pause sees this note.",
                                   error_messages={"required": "Enter a closing note: what was done and why it is "
                                                               "closed",
                                                   "max_length": f"The closing note must be {TEXT_MAX} characters or "
                                                                 "fewer"})
