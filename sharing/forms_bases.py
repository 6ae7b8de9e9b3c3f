"""The three lawful-basis fields of a controller (issue 21, point 4), shared by the agreement's
propose form (both controllers) and the concern form (Pause): its Article 6 basis, its Article 9
condition, and the statutory power behind a public task or legal obligation. Choices are shown in
plain words; `sharing.lawful_bases.validate` checks what goes together, keyed by these names."""

from __future__ import annotations

from django import forms

from pause_portal import presenting
from pause_portal.form_rendering import govuk
from sharing import lawful_bases as bases


def _choice(label: str, choices, *, help_text: str = "", blank: str = "") -> forms.ChoiceField:
    field = forms.ChoiceField(label=label, required=False, help_text=help_text,
                              choices=([("", blank)] if blank else []) + list(choices),
                              widget=forms.Select if blank else forms.RadioSelect,
                              error_messages={"invalid_choice": f"Choose {presenting.in_sentence(label)} from the list"})
    return govuk(field, small=not blank)


def add_bases_fields(form: forms.Form, controller: str, programme_id: int | None, *, whose: str = "") -> list[str]:
    """Add `<controller>_article_6`, `_article_9` and `_power` to `form`; their names."""
    whose = whose or bases.WHOSE[controller][0].upper() + bases.WHOSE[controller][1:]
    names = {
        "article_6": _choice(f"{whose} Article 6 lawful basis", ((b.code, b.label) for b in bases.ARTICLE_6.values())),
        "article_9": _choice(f"{whose} Article 9 condition for special category data",
                             ((b.code, b.label) for b in bases.ARTICLE_9.values())),
        "power": _choice(f"The law behind {bases.WHOSE[controller]} public task or legal obligation",
                         bases.power_choices(programme_id), blank="None: not a public task or legal obligation",
                         help_text="UK GDPR Article 6(3): needed for a public task or a legal obligation, and only "
                                   "then"),
    }
    out = []
    for field, value in names.items():
        name = f"{controller}_{field}"
        form.fields[name] = value
        out.append(name)
    return out


def bases_initial(value, controllers) -> dict:
    """A record's bases as the initial values of these fields."""
    found = bases.normalised(value)
    return {f"{c}_{f}": (found.get(c) or {}).get(f, "") for c in controllers for f in bases.FIELDS}


def bases_posted(cleaned: dict, controllers) -> dict:
    """The cleaned fields as bases, for `sharing.lawful_bases.validate`."""
    return {c: {f: cleaned.get(f"{c}_{f}") or "" for f in bases.FIELDS} for c in controllers}
