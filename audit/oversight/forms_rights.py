"""Forms of the rights pages: requests (opening, extending, giving to another DPO, closing,
objection outcomes, erasure), the access pack's redaction decisions, the caseworker's
rectification step, and the breach register. Identifiers are posted, never put in an address;
messages follow the GOV.UK patterns. The actions check everything again."""

from __future__ import annotations

from datetime import date, datetime, time

from django import forms
from django.utils import timezone

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
from pseudonymisation.blind_index import IndexKind

FIND_KINDS = [(str(IndexKind.PERSON_ID), "Trust person ID"), (str(IndexKind.NHS_NUMBER), "NHS number")]
YES_NO = [("yes", "Yes"), ("no", "No")]


def _required(what: str) -> dict:
    return {"required": what, "invalid_choice": what}


def _text(label: str, required_message: str | None, limit: int = TEXT_MAX) -> forms.CharField:
    return forms.CharField(label=label, required=required_message is not None, strip=True, max_length=limit,
                           widget=forms.Textarea,
                           error_messages={"required": required_message or "",
                                           "max_length": f"{label} must be {limit} characters or fewer"})


def _part() -> forms.CharField:
    return forms.CharField(required=False, max_length=4)


class DatePartsForm(forms.Form):
    """Reads GOV.UK date inputs (`<prefix>_day`, `_month`, `_year`, and `_time` as HH:MM when asked)."""

    def read_date(self, prefix: str, what: str, *, required: bool = True) -> date | None:
        values = [(self.cleaned_data.get(f"{prefix}_{p}") or "").strip() for p in ("day", "month", "year")]
        if not any(values):
            if required:
                self.add_error(f"{prefix}_day", f"Enter {what}, with a day, month and year")
            return None
        try:
            if not all(values) or len(values[2]) != 4:
                raise ValueError
            return date(int(values[2]), int(values[1]), int(values[0]))
        except ValueError:
            self.add_error(f"{prefix}_day", f"{what[0].upper()}{what[1:]} must be a real date, for example 27 3 2026")
            return None

    def read_moment(self, prefix: str, what: str, *, required: bool = True) -> datetime | None:
        day = self.read_date(prefix, what, required=required)
        if day is None:
            return None
        raw = (self.cleaned_data.get(f"{prefix}_time") or "").strip()
        try:
            hours, minutes = (int(x) for x in raw.split(":")) if raw else (None, None)
            if hours is None:
                raise ValueError
            clock = time(hours, minutes)
        except ValueError:
            self.add_error(f"{prefix}_time", f"Enter the time of {what} as hours and minutes, for example 14:30")
            return None
        return timezone.make_aware(datetime.combine(day, clock))


IDENTITY_NOTE_HINT = ("Optional. Never a document's number: only its type is recorded. Kept encrypted.")


class IdentityForm(forms.Form):
    """The structured evidence of the identity check: the method, the type of document seen (never
    its number) and who checked (a Trust member of the programme), with an optional note."""

    identity_method = forms.ChoiceField(choices=IdentityMethod.choices,
                                        error_messages=_required("Select how her identity was verified"))
    identity_document = forms.ChoiceField(choices=IdentityDocument.choices,
                                          error_messages=_required("Select the type of document seen"))
    identity_checked_by = forms.TypedChoiceField(coerce=int, choices=(),
                                                 error_messages=_required("Select who checked her identity"))
    identity_check = _text("Anything else about the check (optional)", None, 1000)

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
    kind = forms.ChoiceField(choices=RequestKind.choices, error_messages=_required("Select which right she is using"))
    find_by = forms.ChoiceField(choices=FIND_KINDS, error_messages=_required("Select what to find her by"))
    identifier = forms.CharField(max_length=100, strip=True,
                                 error_messages={"required": "Enter her Trust person ID or NHS number",
                                                 "max_length": "The Trust person ID or NHS number must be 100 "
                                                               "characters or fewer"})
    received_day, received_month, received_year = _part(), _part(), _part()
    received_via = forms.ChoiceField(choices=ReceiptChannel.choices,
                                     error_messages=_required("Select how the request was received"))
    details = _text("What she is asking for", None)

    field_order = ["kind", "find_by", "identifier", "received_day", "received_month", "received_year",
                   "received_via", "identity_method", "identity_document", "identity_checked_by", "identity_check",
                   "details"]

    def clean(self):
        data = super().clean()
        data["received_on"] = self.read_date("received", "the date the request was received")
        if data["received_on"] and data["received_on"] > timezone.localdate():
            self.add_error("received_day", "The date received must be today or in the past")
        return data


class ExtendForm(forms.Form):
    months = forms.TypedChoiceField(coerce=int, choices=[(n, f"{n} month{'s' if n > 1 else ''}")
                                                         for n in range(1, MAX_EXTENSION_MONTHS + 1)],
                                    error_messages=_required("Select how many months to extend it by"))
    reason = _text("Why it needs longer", "Enter why the request needs longer", EXTENSION_REASON_MAX)


class ReassignForm(forms.Form):
    owner = forms.TypedChoiceField(coerce=int, choices=(), error_messages=_required("Select the DPO who owns it"))

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = list(owners)


class CloseForm(forms.Form):
    status = forms.ChoiceField(choices=[("completed", "Completed: answered"), ("refused", "Refused")],
                               error_messages=_required("Select whether the request was completed or refused"))
    note = _text("The answer given, or why it was refused", "Enter the answer given, or why it was refused")


class ObjectionForm(forms.Form):
    outcome = forms.ChoiceField(choices=ObjectionOutcome.choices,
                                error_messages=_required("Select whether the objection is upheld"))
    note = _text("The answer given to her; if not upheld, the compelling legitimate grounds",
                 "Enter the answer given to her, and the compelling grounds if it is not upheld")


EXEMPTION_FIELDS = [(e.value, e) for e in ErasureExemption]


class ProposeErasureForm(forms.Form):
    """The DPO's proposal: the ground (Art. 17(1) as it can apply here) and an answer for each Art.
    17(3) exemption. The Caldicott Guardian confirms it."""

    ground = forms.ChoiceField(choices=ErasureGround.choices,
                               error_messages=_required("Select the ground on which her records are to be erased"))
    confirm = forms.BooleanField(error_messages={"required": "Confirm that you propose erasing her records"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, exemption in EXEMPTION_FIELDS:
            short = exemption.label.split(":")[0]
            self.fields[name] = forms.ChoiceField(choices=YES_NO, label=exemption.label,
                                                  error_messages=_required(f"Select whether {short} applies"))

    def exemption_fields(self):
        return [self[name] for name, _ in EXEMPTION_FIELDS]

    def clean(self):
        data = super().clean()
        data["exemptions"] = {name: data.get(name) == "yes" for name, _ in EXEMPTION_FIELDS}
        return data


class WithdrawForm(forms.Form):
    withdraw_reason = _text("Why it is withdrawn", "Enter why the proposal is withdrawn", 1000)


class RedactionForm(forms.Form):
    item = forms.CharField(max_length=60, error_messages={"required": "Choose an item"})
    basis = forms.ChoiceField(choices=RedactionBasis.choices,
                              error_messages=_required("Select whether to disclose or withhold it, and why"))


class RectifyForm(forms.Form):
    record = forms.ChoiceField(choices=(), error_messages=_required("Select whose record to correct"))
    field = forms.ChoiceField(choices=(), error_messages=_required("Select the field to correct"))
    value = forms.CharField(required=False, max_length=200, strip=True,
                            error_messages={"max_length": "The corrected value must be 200 characters or fewer"})
    reason = _text("Why, and what you checked it against", "Enter why, and what you checked it against", 1000)

    def __init__(self, *args, records=(), fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["record"].choices = list(records)
        self.fields["field"].choices = list(fields)


class FinishRectificationForm(forms.Form):
    note = _text("What you checked and corrected", "Enter what you checked and corrected")


class BreachForm(DatePartsForm):
    what_happened = _text("What happened", "Enter what happened")
    happened_day, happened_month, happened_year = _part(), _part(), _part()
    happened_time = forms.CharField(required=False, max_length=5)
    found_day, found_month, found_year = _part(), _part(), _part()
    found_time = forms.CharField(required=False, max_length=5)
    people_affected = _text("Who is affected, and which of their records", "Enter who is affected")
    affected_count = forms.IntegerField(required=False, min_value=0,
                                        error_messages={"invalid": "The number of people must be a whole number",
                                                        "min_value": "The number of people cannot be negative"})
    risk = forms.ChoiceField(choices=BreachRisk.choices, error_messages=_required("Select the risk to the people"))
    actions_taken = _text("What has been done", None)

    def clean(self):
        data = super().clean()
        data["found_at"] = self.read_moment("found", "when it was found")
        data["happened_at"] = self.read_moment("happened", "when it happened", required=False)
        return data


class ToldForm(DatePartsForm):
    """Whether the ICO (or the people affected) were told: when, or why not."""

    told = forms.ChoiceField(choices=YES_NO, error_messages=_required("Select yes if they were told"))
    told_day, told_month, told_year = _part(), _part(), _part()
    told_time = forms.CharField(required=False, max_length=5)
    reference = forms.CharField(required=False, max_length=40, strip=True,
                                error_messages={"max_length": "The reference must be 40 characters or fewer"})
    not_told_reason = forms.CharField(required=False, max_length=EXTENSION_REASON_MAX, strip=True,
                                      widget=forms.Textarea,
                                      error_messages={"max_length": "The reason must be 1000 characters or fewer"})

    def clean(self):
        data = super().clean()
        data["told_at"] = None
        if data.get("told") == "yes":
            data["told_at"] = self.read_moment("told", "when they were told")
        elif data.get("told") == "no" and not data.get("not_told_reason"):
            self.add_error("not_told_reason", "Enter why they were not told")
        return data
