"""The form a Trust lead edits the rule set with (the page is built on it elsewhere).

Codes are offered as checkboxes: those ticked under "counts as a removal" are counted, those
under "for a caseworker to review" are for review, every other code is not counted — so each code
ends with exactly one position. Youth-justice codes are never offered: no rule uses them.
Messages follow the GOV.UK error message pattern: say what happened and how to fix it.
"""

from __future__ import annotations

from django import forms

from eligibility.extract import codes
from eligibility.extract.codes import CodeList, Position
from eligibility.models import RuleSet
from eligibility.rules import CODE_LISTS, SIGNAL_LABELS, YOUTH_JUSTICE, Signal, values_of
from pause_portal.form_rendering import govuk


def _choices(code_list: CodeList) -> list[tuple[str, str]]:
    return [(code, f"{code}: {meaning}") for code, meaning in codes.CODE_LISTS[code_list].items()
            if code not in YOUTH_JUSTICE[code_list]]


LS_CHOICES = _choices(CodeList.LEGAL_STATUS)
REC_CHOICES = _choices(CodeList.EPISODE_CEASED)
# field name -> (code list, position)
CODE_FIELDS = {
    "counted_legal_statuses": (CodeList.LEGAL_STATUS, Position.COUNTED),
    "review_legal_statuses": (CodeList.LEGAL_STATUS, Position.REVIEW),
    "counted_episode_reasons": (CodeList.EPISODE_CEASED, Position.COUNTED),
    "review_episode_reasons": (CodeList.EPISODE_CEASED, Position.REVIEW),
}


def _whole_number(label: str, low: int, high: int, unit: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, min_value=low, max_value=high,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-3", "inputmode": "numeric", "spellcheck": "false"}),
        error_messages={
            "required": f"Enter the {label.lower()}",
            "invalid": f"The {label.lower()} must be a whole number, like {low + 1}",
            "min_value": f"The {label.lower()} must be {low} {unit} or more",
            "max_value": f"The {label.lower()} must be {high} {unit} or fewer",
        },
    )


def _codes(label: str, choices) -> forms.MultipleChoiceField:
    return govuk(forms.MultipleChoiceField(
        label=label, choices=choices, required=False, widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Select codes from the list"},
    ), small=True)


class RuleSetForm(forms.Form):
    counted_legal_statuses = _codes("Legal statuses that count as a removal", LS_CHOICES)
    review_legal_statuses = _codes("Legal statuses for a caseworker to review", LS_CHOICES)
    counted_episode_reasons = _codes("Reasons an episode ceased that count as a removal", REC_CHOICES)
    review_episode_reasons = _codes("Reasons an episode ceased for a caseworker to review", REC_CHOICES)
    eligible_threshold = _whole_number("Number of children removed for a woman to be eligible", 1, 10, "children")
    look_back_years = _whole_number("Look-back window in years", 1, 30, "years")
    minimum_age = _whole_number("Minimum age", 12, 25, "years")
    at_risk_signals = forms.MultipleChoiceField(
        label="With one child fewer removed, a woman is at risk when there is",
        choices=[(str(s), SIGNAL_LABELS[s]) for s in Signal], required=False, widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Select from the list"},
    )
    open_proceedings_codes = _codes("Legal statuses that, with no end date, are open proceedings", LS_CHOICES)

    @classmethod
    def for_rule_set(cls, rule_set: RuleSet, data=None) -> RuleSetForm:
        """The form, filled in with a version's rules (the starting point of an edit)."""
        values = values_of(rule_set)
        initial = {name: [c for c, p in values["positions"][str(cl)].items() if p == position]
                   for name, (cl, position) in CODE_FIELDS.items()}
        initial |= {k: values[k] for k in ("eligible_threshold", "look_back_years", "minimum_age",
                                            "at_risk_signals", "open_proceedings_codes")}
        return cls(data=data, initial=initial)

    def clean(self):
        data = super().clean()
        for counted, review in (("counted_legal_statuses", "review_legal_statuses"),
                                ("counted_episode_reasons", "review_episode_reasons")):
            both = sorted(set(data.get(counted, [])) & set(data.get(review, [])))
            if both:
                self.add_error(review, f"A code cannot both count as a removal and be for review: "
                                       f"untick {', '.join(both)} in one of the two lists")
        if not data.get("counted_legal_statuses") and not data.get("counted_episode_reasons"):
            self.add_error("counted_legal_statuses",
                           "Select at least one legal status or episode reason that counts as a removal")
        if Signal.OPEN_PROCEEDINGS in data.get("at_risk_signals", []) and not data.get("open_proceedings_codes"):
            self.add_error("open_proceedings_codes",
                           "Select the legal statuses that show open proceedings, or untick open care proceedings")
        return data

    def rule_values(self) -> dict:
        """The cleaned form as a rule set's values (for eligibility.rules.edit_rule_set)."""
        data = self.cleaned_data
        positions = {str(cl): {code: str(Position.NOT_COUNTED) for code in codes.CODE_LISTS[cl]} for cl in CODE_LISTS}
        for name, (code_list, position) in CODE_FIELDS.items():
            for code in data[name]:
                positions[str(code_list)][code] = str(position)
        return {
            "positions": positions,
            "eligible_threshold": data["eligible_threshold"],
            "at_risk_signals": data["at_risk_signals"],
            "open_proceedings_codes": data["open_proceedings_codes"],
            "look_back_years": data["look_back_years"],
            "minimum_age": data["minimum_age"],
        }
