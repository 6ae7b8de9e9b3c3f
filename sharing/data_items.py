"""The data items of the data-sharing agreement, and the ONE table of what each serves (issue 21,
point 1; ADR 28).

The Caldicott Guardian confirms, in each agreement version, the items each phase may share. This
table says, for every item, which served fields of which model it allows; the disclosure policy
(`sharing.disclosure.PauseDisclosure.fields`) serves Pause's roles the fields of the items in the
confirmed version in force now, plus `ALWAYS_SERVED` (which is not data the Trust shares about her:
Pause's own records of its work, and the release's own facts). The scoping check's columns are the
scoping items' columns (`sharing.scoping_release.agreed_columns`), and the released child's values
(`sharing.delivery_release.child_values`) follow the delivery items.

Never an item for her NHS number or Trust person id: no model field holding one is named here (a
test says so).

`ReleasedChild`'s year of birth, removal year and outcome are not columns of the model: they are
read live from the Trust's records by `child_values` and served only when these items allow.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from pause_portal.tenancy.models import Phase, Programme
from sharing.models_delivery import (
    ContactAttempt,
    ReleasedChild,
    ReleasedWoman,
    SafeguardingConcern,
)
from sharing.models_scoping import ScopingChildRow, ScopingNote, ScopingWomanRow
from sharing.scoping_term import current_agreement

# The released child's live values (`child_values`), served under the items below.
CHILD_LIVE_VALUES = ("birth_year", "removal_year", "outcome")


@dataclass(frozen=True)
class DataItem:
    code: str
    label: str  # in plain words, as the agreement page shows it
    serves: dict[type[models.Model], frozenset[str]]
    note: str = ""  # said on the agreement page where the label alone could mislead


def _item(code: str, label: str, model: type[models.Model] | None = None, *fields: str, note: str = "") -> DataItem:
    return DataItem(code, label, {model: frozenset(fields)} if model is not None else {}, note)


SCOPING_ITEMS: tuple[DataItem, ...] = (
    _item("scoping_tokens", "A scoping token for each woman, in place of her name", ScopingWomanRow, "token"),
    _item("age_band", "Her age, in bands", ScopingWomanRow, "age_band"),
    _item("broad_ethnic_group", "Her broad ethnic group", ScopingWomanRow, "ethnic_group"),
    _item("children_removed", "How many of her children were removed", ScopingWomanRow, "children_removed"),
    _item("removal_years_banded", "The years her children were removed, in bands", ScopingWomanRow,
          "removal_years"),
    _item("outcome_types", "The kinds of outcome for her children (for example adoption)", ScopingWomanRow,
          "outcome_types"),
    _item("age_at_first_removal", "Her age when a child was first removed from her, in bands", ScopingWomanRow,
          "age_at_first_removal"),
    _item("child_scoping_tokens", "A scoping token for each child", None,
          note="children are never listed one by one, so no child's token is shown to Pause"),
    _item("child_year_band", "The years each child was removed, in bands (counted in tables only)",
          ScopingChildRow, "year_band"),
    _item("child_outcome", "What happened to each child (counted in tables only)", ScopingChildRow, "outcome"),
)

DELIVERY_ITEMS: tuple[DataItem, ...] = (
    _item("name", "Her name", ReleasedWoman, "forename", "surname"),
    _item("date_of_birth", "Her date of birth", ReleasedWoman, "date_of_birth"),
    _item("postcode", "Her postcode", ReleasedWoman, "postcode"),
    _item("contact_address", "The address Pause should contact her at", ReleasedWoman, "address"),
    _item("trust_contact", "Her contact at the Trust", ReleasedWoman, "trust_contact"),
    _item("child_delivery_tokens", "A delivery token for each of her children, in place of their names",
          ReleasedChild, "token"),
    _item("child_year_of_birth", "Each child's year of birth", ReleasedChild, "birth_year"),
    _item("child_removal_year", "The year each child was removed", ReleasedChild, "removal_year"),
    _item("child_outcome", "What happened to each child (for example adoption)", ReleasedChild, "outcome"),
)

ITEMS: dict[str, dict[str, DataItem]] = {
    Phase.SCOPING: {i.code: i for i in SCOPING_ITEMS},
    Phase.DELIVERY: {i.code: i for i in DELIVERY_ITEMS},
}

# Served in the phase whatever the items: not data the Trust shares about her, but Pause's own
# records of its work (its notes, contact attempts and concerns) and the release's own facts (when
# she was released, her place in Pause's target group and its reason, her participation).
ALWAYS_SERVED: dict[str, dict[type[models.Model], frozenset[str]]] = {
    Phase.SCOPING: {
        ScopingWomanRow: frozenset(),
        ScopingChildRow: frozenset(),
        ScopingNote: frozenset({"written_by", "written_at", "text"}),
    },
    Phase.DELIVERY: {
        ReleasedWoman: frozenset({"released_at", "target_position", "target_reason", "participation",
                                  "participation_ended_at", "privacy_information_given_at"}),
        ReleasedChild: frozenset(),
        ContactAttempt: frozenset({"recorded_by", "recorded_at", "contacted_on", "method", "outcome",
                                   "privacy_information_given", "trust_notice_given", "pause_notice_given", "note"}),
        SafeguardingConcern: frozenset({"kind", "lawful_bases", "raised_by", "raised_at", "summary", "status",
                                        "acknowledged_at", "closed_at", "closing_note"}),
    },
}

# Item codes of earlier versions of this vocabulary -> the items they became. Agreements stored
# with them are rewritten by a data migration (sharing 0012); reading one still maps it.
RENAMED: dict[str, dict[str, tuple[str, ...]]] = {
    Phase.SCOPING: {},
    Phase.DELIVERY: {"address_postcode": ("postcode", "contact_address")},
}


def labels(phase: str) -> dict[str, str]:
    """Item code -> its plain words, in the vocabulary's order (the propose form's choices)."""
    return {code: item.label for code, item in ITEMS[phase].items()}


def known(phase: str, codes) -> list[str]:
    """The codes of the vocabulary among `codes` (old codes mapped), in the vocabulary's order."""
    wanted = set()
    for code in codes or ():
        wanted |= set(RENAMED[phase].get(code, (code,)))
    return [code for code in ITEMS[phase] if code in wanted]


def fields_for(phase: str, codes) -> dict[type[models.Model], frozenset[str]]:
    """Model -> the fields served in `phase` under the items `codes`: the items' fields and what is
    always served."""
    out = {model: set(fields) for model, fields in ALWAYS_SERVED[phase].items()}
    for code in known(phase, codes):
        for model, fields in ITEMS[phase][code].serves.items():
            out.setdefault(model, set()).update(fields)
    return {model: frozenset(fields) for model, fields in out.items()}


def agreed_items(programme: Programme | int, phase: str) -> list[str]:
    """The items of `phase` in the confirmed agreement version in force now (none without one)."""
    if not isinstance(programme, Programme):
        programme = Programme(pk=programme)
    agreement = current_agreement(programme)
    return known(phase, (agreement.data_items or {}).get(str(phase)) if agreement else ())


def served_now(programme: Programme | int, phase: str) -> dict[type[models.Model], frozenset[str]]:
    """Model -> the fields Pause is served in `phase` now, read from the agreement in force."""
    return fields_for(phase, agreed_items(programme, phase))
