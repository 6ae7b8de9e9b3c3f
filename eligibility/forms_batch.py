"""The forms of a batch decision (`eligibility.views.batch`): the women chosen in the queue, the one
decision and reason, and the check — one tick per woman, and what was checked, signed.

The check keeps, between the check-your-answers page and the confirmation, what the person saw of
each woman (`HerState.as_checked`), the decision and the reason, signed with the site's key and for
that person only (`django.core.signing`): a page cannot confirm a check it did not show, or one
older than `CHECK_MAX_AGE`. Messages follow the GOV.UK error message pattern.
"""

from __future__ import annotations

from django import forms
from django.core import signing

from eligibility.forms_queue import DecisionForm
from pause_portal.form_rendering import govuk

CHECK_SALT = "eligibility.batch-check"
CHECK_MAX_AGE = 2 * 60 * 60  # seconds


class BatchSelectionForm(forms.Form):
    """The women ticked in the queue (their ids; `check_selection` says whether they go together)."""

    women = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose the women from the decision queue"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        posted = self.data.getlist("women") if hasattr(self.data, "getlist") else []
        self.fields["women"].choices = [(v, v) for v in posted if v.isdigit()]

    def chosen_pks(self) -> list[int]:
        posted = self.data.getlist("women") if hasattr(self.data, "getlist") else []
        return [int(v) for v in posted if v.isdigit()]


class BatchDecisionForm(DecisionForm):
    """One decision and one reason for every woman chosen."""

    def __init__(self, *args, count: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outcome"].label = f"What is your decision about these {count} women?"
        self.fields["reason"].help_text = (
            "The same reason is recorded with each woman's decision, so write it for each of them: for "
            "example, what you checked in the case management system. It is kept encrypted.")


def sign_check(*, by, outcome: str, reason: str, checked: dict[int, list]) -> str:
    return signing.dumps({"by": by.pk, "outcome": outcome, "reason": reason,
                          "women": {str(pk): state for pk, state in checked.items()}},
                         salt=CHECK_SALT, compress=True)


class CheckExpired(Exception):
    """The check is genuine but too old: `content` is what it held, to show it again."""

    def __init__(self, content: dict):
        super().__init__("check expired")
        self.content = content


def read_check(token: str, *, by) -> dict | None:
    """What a check holds (women as {pk: checked state}), or None if it is not one made for `by`.
    Raises CheckExpired for a genuine check older than CHECK_MAX_AGE."""
    try:
        content = signing.loads(token, salt=CHECK_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(content, dict) or content.get("by") != by.pk:
        return None
    content["women"] = {int(pk): state for pk, state in content["women"].items()}
    try:
        signing.loads(token, salt=CHECK_SALT, max_age=CHECK_MAX_AGE)
    except signing.SignatureExpired:
        raise CheckExpired(content) from None
    return content


class BatchCheckForm(forms.Form):
    """One tick per woman: the person confirms they checked her. `names` (pk -> her name as
    served) labels each tick; `ticked` is what to show ticked on a page shown again."""

    check = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, names: dict[int, str], ticked: set[int] = frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        for pk, name in names.items():
            self.fields[tick_field(pk)] = govuk(forms.BooleanField(
                label=f"I have checked {name}'s evidence and this decision is right for her",
                initial=pk in ticked,
                error_messages={"required": f"Confirm that you have checked {name}'s evidence, or go back to "
                                            "the queue and leave her out"}), small=True)


def tick_field(pk: int) -> str:
    return f"checked_{pk}"
