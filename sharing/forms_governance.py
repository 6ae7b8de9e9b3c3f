"""Forms of the governance pages: proposing a version of the data-sharing agreement, deciding on
one, and proposing or deciding a phase change. The agreement's rules (which lawful bases need a
policy document, what a DPIA sign-off needs) live in `sharing.agreements.validate_agreement`,
whose errors carry these forms' field names. Messages follow the GOV.UK error message pattern."""

from __future__ import annotations

from django import forms

from pause_portal import presenting
from pause_portal.form_rendering import govuk
from pause_portal.tenancy.models import Phase
from sharing import lawful_bases as bases
from sharing.agreements import (
    DATA_ITEMS,
    DECIDE_CHANGES_DAYS,
    MAX_EXTENSION_DAYS,
    RETENTION_STORES,
    values_of,
)
from sharing.forms_bases import add_bases_fields, bases_initial, bases_posted
from sharing.leaving_scoping import NO_REPORT_CHOICE
from sharing.models_caldicott import JUSTIFICATION_MAX
from sharing.models_scoping import Agreement

WIDTH_20 = {"class": "govuk-input--width-20"}


def _text(label: str, *, max_length: int | None = None, textarea: bool = False, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label, required=False, max_length=max_length, help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 4}) if textarea else forms.TextInput(attrs=WIDTH_20),
        error_messages={"max_length": f"{label} must be {max_length} characters or fewer"},
    )


def _items(phase: Phase) -> forms.MultipleChoiceField:
    return govuk(forms.MultipleChoiceField(
        label=f"Data items {phase.label.lower()} may share", choices=list(DATA_ITEMS[phase].items()),
        required=False, widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Select data items from the list"},
    ), small=True)


class AgreementForm(forms.Form):
    parties = _text("Parties", textarea=True,
                    help_text="The Trust and the Pause practice, each with its role (controller or processor)")
    purposes = _text("Purposes", textarea=True)
    data_items_scoping = _items(Phase.SCOPING)
    data_items_delivery = _items(Phase.DELIVERY)
    uk_only_processing = forms.BooleanField(label="The data are processed in the UK only", required=False)
    policy_document_reference = _text(
        "Appropriate policy document reference", max_length=200,
        help_text="Needed for Article 9(2)(g) with DPA 2018 Schedule 1 Part 2 paragraph 18, and before any release")
    dpia_reference = _text("DPIA reference", max_length=200)
    dpia_signed_off_by = _text("DPIA signed off by", max_length=200, help_text="Their name and role")
    dpia_signed_off_on = forms.DateField(
        label="DPIA signed off on", required=False, input_formats=["%d/%m/%Y", "%d %m %Y", "%Y-%m-%d"],
        # Shown back as it is typed (27/3/2026), so a version's own date is valid when it is the
        # starting point of the next one.
        widget=forms.DateInput(attrs={"class": "govuk-input--width-10"}, format="%d/%m/%Y"),
        help_text="For example, 27/3/2026",
        error_messages={"invalid": "The date the DPIA was signed off must be a real date, like 27/3/2026"},
    )
    scoping_extension_days = forms.IntegerField(
        label="Scoping extension, in days beyond three months", required=False, min_value=0,
        max_value=MAX_EXTENSION_DAYS,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-3", "inputmode": "numeric"}),
        error_messages={
            "invalid": "The scoping extension must be a whole number of days, like 14",
            "min_value": "The scoping extension must be 0 days or more",
            "max_value": f"The scoping extension must be {MAX_EXTENSION_DAYS} days or fewer",
        },
    )
    decide_changes_within_days = forms.IntegerField(
        label="Days the Trust has to decide about a change since release", required=False,
        min_value=DECIDE_CHANGES_DAYS[0], max_value=DECIDE_CHANGES_DAYS[1],
        widget=forms.TextInput(attrs={"class": "govuk-input--width-3", "inputmode": "numeric"}),
        help_text="When a released woman's evidence changes or she is missing from the latest extract, a Trust "
                  "lead decides within this many days, or Pause stops seeing her",
        error_messages={
            "invalid": "The days to decide must be a whole number, like 14",
            "min_value": f"The days to decide must be {DECIDE_CHANGES_DAYS[0]} or more",
            "max_value": f"The days to decide must be {DECIDE_CHANGES_DAYS[1]} or fewer",
        },
    )
    pause_dpo_email = forms.CharField(
        label="Pause's data protection officer's email address", required=False, max_length=200, strip=True,
        widget=forms.EmailInput(attrs={"class": "govuk-input--width-30", "autocomplete": "off", "spellcheck": "false"}),
        help_text="Pause is a controller with its own duty to report breaches: notices of a suspected breach on "
                  "Pause's side, and its 72-hour reminders, go here. An office address, like dpo@example.org",
        error_messages={"max_length": "The email address must be 200 characters or fewer"},
    )
    change_reason = _text("Why the agreement is changing", textarea=True,
                          help_text="Needed for every change, and for any scoping extension")

    def __init__(self, *args, programme_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.bases_names = {c: add_bases_fields(self, c, programme_id) for c in bases.CONTROLLERS}
        for store, label in RETENTION_STORES.items():
            self.fields[f"retention_{store}"] = _text(f"How long is this kept: {presenting.in_sentence(label)}",
                                                      max_length=200)

    @classmethod
    def starting_from(cls, agreement: Agreement | None, data=None, *, programme_id: int | None = None) -> AgreementForm:
        """The form, filled in with a version's values (the starting point of the next one)."""
        values = values_of(agreement)
        initial = {k: values[k] for k in ("parties", "purposes", "uk_only_processing",
                                          "policy_document_reference", "dpia_reference", "dpia_signed_off_by",
                                          "dpia_signed_off_on", "scoping_extension_days",
                                          "decide_changes_within_days", "pause_dpo_email")}
        initial |= bases_initial(values["lawful_bases"], bases.CONTROLLERS)
        initial |= {f"data_items_{p}": values["data_items"].get(str(p), []) for p in (Phase.SCOPING, Phase.DELIVERY)}
        initial |= {f"retention_{s}": values["retention"].get(s, "") for s in RETENTION_STORES}
        return cls(data=data, initial=initial, programme_id=programme_id)

    def retention_fields(self):
        return [self[f"retention_{store}"] for store in RETENTION_STORES]

    def bases_fields(self):
        """(the controller in words, its three fields), for the page."""
        return [(bases.CONTROLLERS[c], [self[n] for n in names]) for c, names in self.bases_names.items()]

    def agreement_values(self) -> dict:
        """The cleaned form as an agreement's values (for sharing.agreements.propose_agreement)."""
        data = self.cleaned_data
        return {
            "parties": data["parties"], "purposes": data["purposes"],
            "lawful_bases": bases_posted(data, bases.CONTROLLERS),
            "data_items": {str(p): data[f"data_items_{p}"] for p in (Phase.SCOPING, Phase.DELIVERY)},
            "retention": {s: data[f"retention_{s}"] for s in RETENTION_STORES},
            "uk_only_processing": data["uk_only_processing"],
            "policy_document_reference": data["policy_document_reference"],
            "dpia_reference": data["dpia_reference"], "dpia_signed_off_by": data["dpia_signed_off_by"],
            "dpia_signed_off_on": data["dpia_signed_off_on"],
            "scoping_extension_days": data["scoping_extension_days"] or 0,
            "decide_changes_within_days": data["decide_changes_within_days"],
            "pause_dpo_email": data["pause_dpo_email"],
        }


class DecisionForm(forms.Form):
    """Confirm or reject a proposal (`proposal` is the id shown, so a stale page cannot decide
    another proposal than the one its reader saw)."""

    proposal = forms.IntegerField(widget=forms.HiddenInput)
    decision = govuk(forms.ChoiceField(
        label="Your decision", choices=[("confirm", "Confirm"), ("reject", "Reject")],
        widget=forms.RadioSelect, error_messages={"required": "Select confirm or reject",
                                                  "invalid_choice": "Select confirm or reject"},
    ), size="m", heading=True, inline=True)
    reason = forms.CharField(label="Reason", required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=2000,
                             help_text="Needed when you reject: the proposer reads it")

    def clean(self):
        data = super().clean()
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Enter why you reject it")
        return data


JUSTIFICATION_WARNING = ("It goes into the Caldicott log, which the DPO reads: give your reasons, and do not "
                         "name or describe any woman or child.")


def justification_field(*, needed: str = "Needed whether you confirm or reject.",
                        required_error: str = "Enter your justification for confirming or rejecting") -> forms.CharField:
    """The one justification field of every decision that goes into the Caldicott log (ADR 45),
    with its warning against personal data."""
    return forms.CharField(
        label="Your justification", widget=forms.Textarea(attrs={"rows": 4}), max_length=JUSTIFICATION_MAX,
        help_text=f"{needed} {JUSTIFICATION_WARNING}",
        error_messages={"required": required_error,
                        "max_length": f"Your justification must be {JUSTIFICATION_MAX} characters or fewer"})


class JustifiedDecisionForm(DecisionForm):
    """A Caldicott Guardian's decision: a justification is needed either way, and it goes into the
    Caldicott log (ADR 45) that the DPO reads, so it gives reasons, never names."""

    reason = justification_field()

    def clean(self):
        return forms.Form.clean(self)


class ProposalForm(forms.Form):
    """A withdrawal names the proposal it withdraws."""

    proposal = forms.IntegerField(widget=forms.HiddenInput)


class PhaseChangeForm(forms.Form):
    """`to_phase` is asked only in scoping, where the Trust may go on to delivery or close the
    programme (`sharing.phases.MOVES`); left empty it means the next phase."""

    to_phase = govuk(forms.ChoiceField(
        label="Move the programme to", required=False, widget=forms.RadioSelect,
        choices=[(Phase.DELIVERY.value, "Delivery: work with Pause on the women the Trust releases"),
                 (Phase.CLOSED.value, "Closed: the Trust has decided not to go on with Pause")],
        help_text="Either way scoping ends: its data is purged and a deletion certificate is kept",
        error_messages={"invalid_choice": "Choose delivery or closed"},
    ), size="m", heading=False)
    reason = forms.CharField(
        label="Why the programme should move on", widget=forms.Textarea(attrs={"rows": 4}), max_length=2000,
        help_text="The person who confirms reads this",
        error_messages={"required": "Enter why the programme should move to the next phase",
                        "max_length": "The reason must be 2000 characters or fewer"},
    )
    no_final_report_kept = govuk(forms.BooleanField(
        label=NO_REPORT_CHOICE, required=False,
        help_text="Choose this only if scoping should end without an approved final report: the purge then "
                  "deletes every draft and keeps no report of what scoping found",
    ), legend="Ending scoping without a final report")


class NoticeForm(forms.Form):
    """A version of a privacy notice. The scoping term is asked only of the Trust's notice."""

    text = forms.CharField(
        label="The text of the notice", widget=forms.Textarea(attrs={"rows": 12}), max_length=50_000,
        help_text="As women will read it: it is shown on the programme's public privacy notice page once confirmed",
        error_messages={"required": "Enter the text of the privacy notice",
                        "max_length": "The privacy notice must be 50000 characters or fewer"})
    scoping_months = forms.IntegerField(
        label="How many months scoping lasts", required=False, initial=3,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-2", "inputmode": "numeric"}),
        help_text="1, 2 or 3: what the notice tells women", error_messages={"invalid": "Enter a whole number, like 3"})
    scoping_extension_days = forms.IntegerField(
        label="The longest extension of scoping the notice announces, in days", required=False, initial=0,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-3", "inputmode": "numeric"}),
        help_text="0 if it announces none. The agreement's extension never counts for more",
        error_messages={"invalid": "Enter a whole number of days, like 14, or 0"})
    change_reason = forms.CharField(label="What changed, and why (optional)", required=False,
                                    widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class PowerForm(forms.Form):
    """A statutory power a Trust lead proposes for the programme's vocabulary."""

    label = forms.CharField(
        label="The statutory power", max_length=300, widget=forms.TextInput(attrs={"class": "govuk-input"}),
        help_text="The Act, the section and what it provides, as pages will show it. For example, Children Act "
                  "1989, section 22: the general duty towards looked-after children",
        error_messages={"required": "Enter the statutory power: the Act, the section and what it provides",
                        "max_length": "The statutory power must be 300 characters or fewer"})
    justification = forms.CharField(
        label="Why it applies", widget=forms.Textarea(attrs={"rows": 4}), max_length=5000,
        help_text="The Trust's legal advice, in brief: the Caldicott Guardian reads this",
        error_messages={"required": "Enter why this power applies: the Trust's legal advice, in brief",
                        "max_length": "The reason must be 5000 characters or fewer"})
