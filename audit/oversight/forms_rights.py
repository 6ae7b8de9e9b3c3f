"""Forms of the rights pages: requests (opening, extending, giving to another DPO, closing,
objection outcomes, erasure), the access pack's redaction decisions, the caseworker's
rectification step, and the breach register. Identifiers are posted, never put in an address;
messages follow the GOV.UK patterns. The actions check everything again."""

from __future__ import annotations

from datetime import date, datetime, time

from django import forms
from django.utils import timezone

from audit.core.models_pack_spans import SpanExemption
from audit.core.models_rights import (
    BreachRisk,
    ErasureExemption,
    ErasureGround,
    IdentityDocument,
    IdentityMethod,
    ObjectionOutcome,
    ReceiptChannel,
    RedactionBasis,
    RequestKind,
)
from audit.oversight.due_dates import MAX_EXTENSION_MONTHS
from audit.oversight.rights import EXTENSION_REASON_MAX, TEXT_MAX
from pause_portal.form_rendering import DatePartsField, NotEchoedInput, govuk
from pseudonymisation.blind_index import IndexKind

FIND_KINDS = [(str(IndexKind.PERSON_ID), "Trust person ID"), (str(IndexKind.NHS_NUMBER), "NHS number")]
YES_NO = [("yes", "Yes"), ("no", "No")]


def _required(what: str) -> dict:
    return {"required": what, "invalid_choice": what}


def _text(label: str, required_message: str | None, limit: int = TEXT_MAX, *, hint: str = "", rows: int = 4,
          optional: bool = False) -> forms.CharField:
    """A textarea; `optional` says so in its label (not in its messages)."""
    return forms.CharField(label=f"{label} (optional)" if optional else label, required=required_message is not None,
                           strip=True, max_length=limit, help_text=hint, widget=forms.Textarea(attrs={"rows": rows}),
                           error_messages={"required": required_message or "",
                                           "max_length": f"{label} must be {limit} characters or fewer"})


def _date(label: str, hint: str) -> DatePartsField:
    return DatePartsField(label=label, help_text=hint, max_lengths=(4, 4, 4))


def _time() -> forms.CharField:
    return forms.CharField(label="Time (24-hour, HH:MM)", required=False, max_length=5, help_text="For example 14:30",
                           widget=forms.TextInput(attrs={"class": "govuk-input--width-4"}))


def _radios(label: str, choices, message: str, *, hint: str = "", small: bool = False,
            field=forms.ChoiceField, **kwargs) -> forms.ChoiceField:
    return govuk(field(label=label, choices=choices, widget=forms.RadioSelect, help_text=hint,
                       error_messages=_required(message), **kwargs), small=small)


class DatePartsForm(forms.Form):
    """Reads GOV.UK date inputs (a `DatePartsField`, and a time field as HH:MM when asked)."""

    def read_date(self, name: str, what: str, *, required: bool = True) -> date | None:
        if name in self.errors:
            return None
        values = list(self.cleaned_data.get(name) or ("", "", ""))
        if not any(values):
            if required:
                self.add_error(name, f"Enter {what}, with a day, month and year")
            return None
        try:
            if not all(values) or len(values[2]) != 4:
                raise ValueError
            return date(int(values[2]), int(values[1]), int(values[0]))
        except ValueError:
            self.add_error(name, f"{what[0].upper()}{what[1:]} must be a real date, for example 27 3 2026")
            return None

    def read_moment(self, name: str, time_name: str, what: str, *, required: bool = True) -> datetime | None:
        day = self.read_date(name, what, required=required)
        if day is None:
            return None
        raw = (self.cleaned_data.get(time_name) or "").strip()
        try:
            hours, minutes = (int(x) for x in raw.split(":")) if raw else (None, None)
            if hours is None:
                raise ValueError
            clock = time(hours, minutes)
        except ValueError:
            self.add_error(time_name, f"Enter the time of {what} as hours and minutes, for example 14:30")
            return None
        return timezone.make_aware(datetime.combine(day, clock))


class IdentityForm(forms.Form):
    """The structured evidence of the identity check: the method, the type of document seen (never
    its number) and who checked (a Trust member of the programme), with an optional note."""

    identity_method = _radios("How was her identity verified?", IdentityMethod.choices,
                              "Select how her identity was verified", small=True)
    identity_document = _radios("Which type of document was seen?", IdentityDocument.choices,
                                "Select the type of document seen", hint="Record the type only, never its number.",
                                small=True)
    identity_checked_by = _radios("Who checked it?", (), "Select who checked her identity", small=True,
                                  field=forms.TypedChoiceField, coerce=int)
    identity_check = _text("Anything else about the check (optional)", None, 1000,
                           hint="Never a document's number: only its type is recorded. Kept encrypted.")

    def __init__(self, *args, checkers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["identity_checked_by"].choices = list(checkers)

    def clean(self):
        data = super().clean()
        if (data.get("identity_document") == IdentityDocument.NONE
                and data.get("identity_method") not in (None, IdentityMethod.TRUST_KNOWN)):
            self.add_error("identity_document", "Select the document seen: only her Trust worker's confirmation "
                                                "needs none")
        return data


class OpenRequestForm(DatePartsForm, IdentityForm):
    kind = _radios("Which right is she using?", RequestKind.choices, "Select which right she is using")
    find_by = _radios("Find her by", FIND_KINDS, "Select what to find her by", small=True)
    identifier = forms.CharField(label="Trust person ID or NHS number", max_length=100, strip=True,
                                 help_text="Exactly as in the Trust's records. It is searched through a blind index "
                                           "and not kept.",
                                 widget=NotEchoedInput(attrs={"class": "govuk-input--width-20", "autocomplete": "off",
                                                              "spellcheck": "false"}),
                                 error_messages={"required": "Enter her Trust person ID or NHS number",
                                                 "max_length": "The Trust person ID or NHS number must be 100 "
                                                               "characters or fewer"})
    received = _date("When was the request received?",
                     "The month to answer it starts on this day. For example 27 3 2026")
    received_via = _radios("How was the request received?", ReceiptChannel.choices,
                           "Select how the request was received", small=True)
    details = _text("What she is asking for", None, optional=True,
                    hint="In her words where you can. For a rectification, what is wrong and what it should say: the "
                         "caseworker reads this. Kept encrypted.")

    field_order = ["kind", "find_by", "identifier", "received", "received_via", "identity_method",
                   "identity_document", "identity_checked_by", "identity_check", "details"]

    def clean(self):
        data = super().clean()
        data["received_on"] = self.read_date("received", "the date the request was received")
        if data["received_on"] and data["received_on"] > timezone.localdate():
            self.add_error("received", "The date received must be today or in the past")
        return data


class ExtendForm(forms.Form):
    months = _radios("Extend it by", [(n, f"{n} month{'s' if n > 1 else ''}") for n in range(1, MAX_EXTENSION_MONTHS + 1)],
                     "Select how many months to extend it by", small=True, field=forms.TypedChoiceField, coerce=int)
    reason = _text("Why it needs longer", "Enter why the request needs longer", EXTENSION_REASON_MAX,
                   hint="The reason given to her. No names.")


class ReassignForm(forms.Form):
    owner = _radios("Which DPO owns it?", (), "Select the DPO who owns it", small=True, field=forms.TypedChoiceField,
                    coerce=int)

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = list(owners)


class CloseForm(forms.Form):
    status = _radios("How does it end?", [("completed", "Completed: answered"), ("refused", "Refused")],
                     "Select whether the request was completed or refused", small=True)
    note = _text("The answer given, or why it was refused", "Enter the answer given, or why it was refused",
                 hint="Kept encrypted.")


class ObjectionForm(forms.Form):
    outcome = _radios("Is her objection upheld?", ObjectionOutcome.choices, "Select whether the objection is upheld")
    note = _text("The answer given to her; if not upheld, the compelling legitimate grounds",
                 "Enter the answer given to her, and the compelling grounds if it is not upheld",
                 hint="Kept encrypted. Upheld, processing ends for good: that takes effect only when the Caldicott "
                      "Guardian confirms it.")


EXEMPTION_FIELDS = [(e.value, e) for e in ErasureExemption]


class ProposeErasureForm(forms.Form):
    """The DPO's proposal: the ground (Art. 17(1) as it can apply here) and an answer for each Art.
    17(3) exemption. The Caldicott Guardian confirms it."""

    ground = _radios("On which ground are her records to be erased?", ErasureGround.choices,
                     "Select the ground on which her records are to be erased",
                     hint="Not consent withdrawn: nothing the portal holds rests on her consent.")
    confirm = govuk(forms.BooleanField(label="I propose erasing her records, for the Caldicott Guardian to confirm",
                                       error_messages={"required": "Confirm that you propose erasing her records"}),
                    small=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, exemption in EXEMPTION_FIELDS:
            short = exemption.label.split(":")[0]
            self.fields[name] = _radios(exemption.label, YES_NO, f"Select whether {short} applies", small=True)

    def exemption_fields(self):
        return [self[name] for name, _ in EXEMPTION_FIELDS]

    def clean(self):
        data = super().clean()
        data["exemptions"] = {name: data.get(name) == "yes" for name, _ in EXEMPTION_FIELDS}
        return data


class WithdrawForm(forms.Form):
    withdraw_reason = _text("Why it is withdrawn", "Enter why the proposal is withdrawn", 1000,
                            hint="The Caldicott Guardian reads this. No names.")


class RedactionForm(forms.Form):
    """One item's decision, in its row of the pack's table (`about` names the item)."""

    item = forms.CharField(max_length=60, widget=forms.HiddenInput, error_messages={"required": "Choose an item"})
    # A blank first option: nothing is decided for the DPO (issue 23, point 5), each item is chosen.
    basis = govuk(forms.ChoiceField(label="Decision", choices=[("", "Choose a decision"), *RedactionBasis.choices],
                                    error_messages=_required("Select whether to disclose or withhold it, and why")),
                  hidden_label=True, group_class="govuk-!-margin-bottom-2")

    def __init__(self, *args, about: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if about:
            self.fields["basis"].label = f"Decision on {about}"


class SpanForm(forms.Form):
    """Withhold part of one passage of her pack: the exact words, which time they appear, and the
    exemption (`audit.oversight.pack_spans.mark`)."""

    passage = forms.CharField(max_length=80, widget=forms.HiddenInput,
                              error_messages={"required": "Choose a passage"})
    words = forms.CharField(label="Words to withhold", max_length=2000, strip=False,
                            help_text="Copy them exactly as they appear in the passage.",
                            widget=forms.Textarea(attrs={"rows": 2}),
                            error_messages={"required": "Enter the words to withhold, exactly as they appear",
                                            "max_length": "The words to withhold must be 2000 characters or fewer"})
    occurrence = forms.IntegerField(label="Which time they appear", min_value=1, max_value=1000, initial=1,
                                    help_text="1 for the first time, 2 for the second, and so on.",
                                    widget=forms.NumberInput(attrs={"class": "govuk-input--width-3"}),
                                    error_messages={"required": "Enter which time the words appear, such as 1",
                                                    "invalid": "Enter which time the words appear as a number, "
                                                               "such as 1",
                                                    "min_value": "Enter which time the words appear: 1 or more",
                                                    "max_value": "Enter which time the words appear: 1000 or fewer"})
    exemption = govuk(forms.ChoiceField(label="Why they are withheld",
                                        choices=[("", "Choose an exemption"), *SpanExemption.choices],
                                        error_messages=_required("Select why the words are withheld")))

    def __init__(self, *args, where: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if where:
            self.fields["words"].label = f"Words to withhold from: {where}"


class RectifyForm(forms.Form):
    record = _radios("Whose record?", (), "Select whose record to correct", small=True)
    field = _radios("Which field?", (), "Select the field to correct", small=True)
    value = forms.CharField(label="The correct value", required=False, max_length=200, strip=True,
                            help_text="Dates as 27/03/1990 or 1990-03-27; codes as in the extracts. Leave empty to "
                                      "clear the field.",
                            widget=NotEchoedInput(attrs={"class": "govuk-input--width-20", "autocomplete": "off",
                                                         "spellcheck": "false"}),
                            error_messages={"max_length": "The corrected value must be 200 characters or fewer"})
    reason = _text("Why, and what you checked it against", "Enter why, and what you checked it against", 1000,
                   hint="Kept encrypted with the correction.", rows=3)

    def __init__(self, *args, records=(), fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["record"].choices = list(records)
        self.fields["field"].choices = list(fields)


class FinishRectificationForm(forms.Form):
    note = _text("What you checked and corrected", "Enter what you checked and corrected",
                 hint="Or why nothing needed correcting. The DPO reads this and answers her.", rows=3)


class BreachForm(DatePartsForm):
    what_happened = _text("What happened", "Enter what happened", hint="Kept encrypted.")
    found = _date("When was it found?", "The 72 hours start here. For example 27 3 2026")
    found_time = _time()
    happened = _date("When did it happen? (if known)", "For example 27 3 2026")
    happened_time = _time()
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

    def clean(self):
        data = super().clean()
        data["found_at"] = self.read_moment("found", "found_time", "when it was found")
        data["happened_at"] = self.read_moment("happened", "happened_time", "when it happened", required=False)
        return data


class ToldForm(DatePartsForm):
    """Whether the ICO (or the people affected) were told: when, or why not."""

    QUESTIONS = {"ico": "Was the ICO told?", "people": "Were the people affected told?"}

    told = _radios("Were they told?", YES_NO, "Select yes if they were told", small=True)
    told_on = _date("If so, when?", "For example 27 3 2026")
    told_time = _time()
    reference = forms.CharField(label="The ICO's reference (optional)", required=False, max_length=40, strip=True,
                                widget=forms.TextInput(attrs={"class": "govuk-input--width-20"}),
                                error_messages={"max_length": "The reference must be 40 characters or fewer"})
    not_told_reason = forms.CharField(label="If not, why not", required=False, max_length=EXTENSION_REASON_MAX,
                                      strip=True, widget=forms.Textarea(attrs={"rows": 2}), help_text="No names.",
                                      error_messages={"max_length": "The reason must be 1000 characters or fewer"})
    late_reason = forms.CharField(label="If more than 72 hours have passed since the Trust became aware: the "
                                        "reason for the delay", required=False, max_length=EXTENSION_REASON_MAX,
                                  strip=True, widget=forms.Textarea(attrs={"rows": 2}),
                                  help_text="Required after 72 hours (UK GDPR Article 33(1)). No names.",
                                  error_messages={"max_length": "The reason must be 1000 characters or fewer"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["told"].label = self.QUESTIONS.get(self.prefix, self.fields["told"].label)

    def clean(self):
        data = super().clean()
        data["told_at"] = None
        if data.get("told") == "yes":
            data["told_at"] = self.read_moment("told_on", "told_time", "when they were told")
        elif data.get("told") == "no" and not data.get("not_told_reason"):
            self.add_error("not_told_reason", "Enter why they were not told")
        return data
