"""Forms of the casework pages: a contact attempt, a concern raised, a concern closed. The actions
check everything again (`sharing.contact`, `sharing.concerns`); these parse and say what is
missing."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone

from sharing.concerns import TEXT_MAX
from sharing.contact import NOTE_MAX, OUTCOMES
from sharing.models_delivery import ConcernBasis, ConcernKind, ContactMethod, Participation

YES_NO = [("yes", "Yes"), ("no", "No")]
OUTCOME_LABELS = {
    Participation.AGREED: "She agreed to take part",
    Participation.DECLINED: "She declined",
    Participation.NOT_REACHED: "She was not reached",
    Participation.WITHDREW: "She withdrew (after agreeing)",
}


class ContactForm(forms.Form):
    contacted_day = forms.CharField(required=False, max_length=2)
    contacted_month = forms.CharField(required=False, max_length=2)
    contacted_year = forms.CharField(required=False, max_length=4)
    method = forms.ChoiceField(choices=ContactMethod.choices,
                               error_messages={"required": "Choose how you tried to contact her",
                                               "invalid_choice": "Choose how you tried to contact her"})
    outcome = forms.ChoiceField(choices=[(o.value, OUTCOME_LABELS[o]) for o in OUTCOMES],
                                error_messages={"required": "Choose what came of the attempt",
                                                "invalid_choice": "Choose what came of the attempt"})
    privacy_information_given = forms.ChoiceField(
        choices=YES_NO, required=False,
        error_messages={"invalid_choice": "Say whether she was given the privacy information"})
    note = forms.CharField(required=False, strip=True, widget=forms.Textarea, max_length=NOTE_MAX,
                           error_messages={"max_length": f"The note must be {NOTE_MAX} characters or fewer"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            today = timezone.localdate()
            self.initial.update(contacted_day=today.day, contacted_month=today.month, contacted_year=today.year)

    def clean(self):
        data = super().clean()
        parts = [(data.get(k) or "").strip() for k in ("contacted_day", "contacted_month", "contacted_year")]
        data["contacted_on"] = None
        if not all(parts):
            self.add_error("contacted_day", "Enter the date of contact, with a day, month and year")
        else:
            try:
                if len(parts[2]) != 4:
                    raise ValueError
                data["contacted_on"] = date(int(parts[2]), int(parts[1]), int(parts[0]))
            except ValueError:
                self.add_error("contacted_day", "The date of contact must be a real date, for example 27 3 2026")
        answer = data.get("privacy_information_given")
        data["privacy_information_given"] = {"yes": True, "no": False}.get(answer)
        return data


class ConcernForm(forms.Form):
    kind = forms.ChoiceField(choices=ConcernKind.choices, widget=forms.RadioSelect,
                             error_messages={"required": "Choose whether this is a safeguarding concern or a serious "
                                                         "incident",
                                             "invalid_choice": "Choose whether this is a safeguarding concern or a "
                                                               "serious incident"})
    lawful_basis = forms.ChoiceField(choices=ConcernBasis.choices, widget=forms.RadioSelect,
                                     error_messages={"required": "Choose the lawful basis for telling the Trust",
                                                     "invalid_choice": "Choose the lawful basis for telling the Trust"})
    summary = forms.CharField(strip=True, widget=forms.Textarea, max_length=TEXT_MAX,
                              error_messages={"required": "Describe the concern: what happened and what you know",
                                              "max_length": f"The description must be {TEXT_MAX} characters or "
                                                            "fewer"})


class CloseConcernForm(forms.Form):
    closing_note = forms.CharField(strip=True, widget=forms.Textarea, max_length=TEXT_MAX,
                                   error_messages={"required": "Enter a closing note: what was done and why it is "
                                                               "closed",
                                                   "max_length": f"The closing note must be {TEXT_MAX} characters or "
                                                                 "fewer"})
