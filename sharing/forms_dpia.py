"""Forms of the DPIA register (ADR 48): a risk, and a review with the next review date. The rules
are `sharing.dpia_register`'s (`risk_problems`, `review_problems`), shown here against each field;
the free text goes into governance records that other roles read, so the hints ask for risks to
people, never anyone's name or story, as other governance free-text fields do."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from pause_portal.form_rendering import govuk
from pause_portal.tenancy.models import Programme
from sharing.dpia_register import (
    RiskValues,
    owner_label,
    possible_owners,
    review_problems,
    risk_problems,
)
from sharing.models_dpia import (
    DESCRIPTION_MAX,
    MITIGATIONS_MAX,
    REVIEW_NOTES_MAX,
    DpiaRisk,
    Likelihood,
    RiskLevel,
    RiskStatus,
    Severity,
)

NO_NAMES = "Do not name or describe any woman or child: the Caldicott Guardian and the DPO read this register."
DATE_FORMATS = ["%d/%m/%Y", "%d %m %Y", "%Y-%m-%d"]


def _radios(label: str, choices, required: str, hint: str = "") -> forms.ChoiceField:
    return govuk(forms.ChoiceField(label=label, choices=choices, widget=forms.RadioSelect, help_text=hint,
                                   error_messages={"required": required, "invalid_choice": required}),
                 size="s", inline=True, small=True)


def _date(label: str, what: str, hint: str = "For example, 27/3/2026") -> forms.DateField:
    return forms.DateField(
        label=label, input_formats=DATE_FORMATS, help_text=hint,
        widget=forms.DateInput(attrs={"class": "govuk-input--width-10"}, format="%d/%m/%Y"),
        error_messages={"required": f"Enter {what}", "invalid": f"{what[0].upper()}{what[1:]} must be a real date, "
                                                                "like 27/3/2026"})


class DpiaRiskForm(forms.Form):
    description = forms.CharField(
        label="The risk to people", widget=forms.Textarea(attrs={"rows": 4}), max_length=DESCRIPTION_MAX,
        help_text=f"What could harm the people whose data is shared, and how. {NO_NAMES}",
        error_messages={"required": "Describe the risk to people",
                        "max_length": f"The description must be {DESCRIPTION_MAX} characters or fewer"})
    likelihood = _radios("Likelihood of harm", Likelihood.choices,
                         "Select how likely the harm is: remote, possible or probable")
    severity = _radios("Severity of harm", Severity.choices,
                       "Select how severe the harm would be: minimal, significant or severe",
                       hint="The overall risk is worked out from these two, on the ICO's matrix")
    mitigations = forms.CharField(
        label="Mitigations", required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=MITIGATIONS_MAX,
        help_text=f"What reduces or removes the risk. Needed when the risk that remains is lower. {NO_NAMES}",
        error_messages={"max_length": f"The mitigations must be {MITIGATIONS_MAX} characters or fewer"})
    residual_risk = _radios("Risk that remains after the mitigations", RiskLevel.choices,
                            "Select the risk that remains after the mitigations: low, medium or high")
    owner = govuk(forms.ChoiceField(label="Owner", help_text="A member of this programme",
                                    error_messages={"required": "Choose the risk's owner: a member of this programme",
                                                    "invalid_choice": "Choose the risk's owner: a member of this "
                                                                      "programme"}))
    status = _radios("Status", RiskStatus.choices, "Select the risk's status: open, accepted or closed")

    def __init__(self, *args, programme: Programme, **kwargs):
        super().__init__(*args, **kwargs)
        self.programme = programme
        self.owners = {m.person_id: m for m in possible_owners(programme)}
        self.fields["owner"].choices = [("", "Choose a member")] + [
            (str(pk), owner_label(m)) for pk, m in self.owners.items()]

    @classmethod
    def of(cls, risk: DpiaRisk, data=None) -> DpiaRiskForm:
        initial = {name: getattr(risk, name) for name in ("description", "likelihood", "severity", "mitigations",
                                                           "residual_risk", "status")}
        return cls(data=data, initial={**initial, "owner": str(risk.owner_id)}, programme=risk.programme)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        for name, message in risk_problems(self.programme, self.values()).items():
            self.add_error(name, message)
        return data

    def values(self) -> RiskValues:
        data = self.cleaned_data
        owner = self.owners.get(int(data["owner"])) if str(data.get("owner", "")).isdigit() else None
        return RiskValues(description=data.get("description", ""), likelihood=data.get("likelihood", ""),
                          severity=data.get("severity", ""), mitigations=data.get("mitigations", ""),
                          residual_risk=data.get("residual_risk", ""), status=data.get("status", ""),
                          owner=owner.person if owner else None)


class DpiaReviewForm(forms.Form):
    reviewed_on = _date("Date of this review", "the date the DPIA was reviewed")
    next_review_on = _date("Next review due on", "the date the next review is due",
                           hint="Within a year of this review. For example, 27/3/2027")
    notes = forms.CharField(
        label="What the review found (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        max_length=REVIEW_NOTES_MAX, help_text=NO_NAMES,
        error_messages={"max_length": f"The notes must be {REVIEW_NOTES_MAX} characters or fewer"})

    def __init__(self, *args, programme: Programme, **kwargs):
        super().__init__(*args, **kwargs)
        self.programme = programme

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        problems = review_problems(self.programme, data["reviewed_on"], data["next_review_on"],
                                   (data.get("notes") or "").strip(), today=timezone.localdate())
        for name, message in problems.items():
            self.add_error(name, message)
        return data
