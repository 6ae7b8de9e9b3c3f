"""The record of processing's categories (ADR 43), read from the data classification
(`pause_portal.classification`): whom each controller's data is about, and each kind of personal
data it holds, special category data named as such. The Trust's are its models' personal fields;
Pause's are the data items of the agreement in force (what each serves, classified where it is
stored or, for a value read live from the Trust's records, there) and its own records."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models

from pause_portal.classification import DataClass, classification_of
from pause_portal.tenancy.models import Phase, Programme
from pseudonymisation.fields import BlindIndexField
from sharing import data_items
from sharing.models_scoping import Agreement


@dataclass(frozen=True)
class Item:
    """One line of a heading: what, and (where words help) its detail."""

    label: str
    detail: str = ""


# Which models hold each controller's personal data, and whom they are about.
TRUST_MODELS = (
    ("eligibility.Woman", "Women in the Trust's case extracts who have had a child removed from their care"),
    ("eligibility.Child", "Their children"),
    ("eligibility.LegalStatus", "Their children"),
    ("eligibility.CareEpisode", "Their children"),
    ("sharing.Person", "The portal's users: the Trust's and Pause's staff"),
)
PAUSE_SUBJECTS = {
    "her": "Women the Trust released to Pause",
    "child": "Their children, by token only: never by name",
    "staff": "The portal's users: Pause's staff",
}
# A released woman's and child's values read live from the Trust's records (`sharing.data_items`).
LIVE_SOURCES = {"sharing.releasedwoman": ("eligibility.Woman",), "sharing.releasedchild": ("eligibility.Child",)}
CLASS_WORDS = {
    DataClass.SPECIAL: "Special category data",
    DataClass.DIRECT: "Direct identifiers",
    DataClass.QUASI: "Indirect identifiers",
}
RANK = (DataClass.SPECIAL, DataClass.DIRECT, DataClass.QUASI)
FIELD_WORDS = {"nhs_number": "NHS number", "trust_person_id": "the Trust's person id",
               "expected_child_due": "an expected child's due date (a pregnancy)", "code": "legal status",
               "expected": "that a child is expected (a pregnancy)", "email": "work email", "full_name": "name"}
MODEL_WORDS = {"eligibility.woman": "the women's records", "eligibility.child": "their children's records",
               "eligibility.legalstatus": "their children's legal statuses",
               "eligibility.careepisode": "their children's care episodes", "sharing.person": "the staff's accounts",
               "sharing.releasedwoman": "its records of each released woman's place in its work",
               "sharing.contactattempt": "its contact attempts", "sharing.safeguardingconcern": "its safeguarding concerns",
               "sharing.scopingnote": "its scoping notes"}


def subjects(programme: Programme, controller: str, agreement: Agreement) -> list[Item]:
    if controller == "trust":
        seen = dict.fromkeys(who for label, who in TRUST_MODELS if _personal_fields(apps.get_model(label)))
        return [Item(who) for who in seen]
    items = [Item(PAUSE_SUBJECTS["her"], "released to Pause in scoping (by token) or in delivery")]
    if any(code.startswith("child_") for phase in (Phase.SCOPING, Phase.DELIVERY)
           for code in agreed(agreement, phase)):
        items.append(Item(PAUSE_SUBJECTS["child"]))
    items.append(Item(PAUSE_SUBJECTS["staff"]))
    return items


def categories(controller: str, agreement: Agreement) -> list[Item]:
    """From the models' classification: each kind of data, special category data named as such."""
    items: list[Item] = []
    if controller == "trust":
        for label, _who in TRUST_MODELS:
            fields = _personal_fields(apps.get_model(label))
            for cls in RANK:
                names = [n for n, c in fields.items() if c is cls]
                if names:
                    items.append(Item(f"{CLASS_WORDS[cls]}: {_model_words(apps.get_model(label))}", ", ".join(names)))
        return items
    for phase in (Phase.SCOPING, Phase.DELIVERY):
        for code in agreed(agreement, phase):
            item = data_items.ITEMS[phase][code]
            cls = _highest(item.serves)
            kind = (CLASS_WORDS[cls] if cls else "Staff or programme details" if any(item.serves.values())
                    else "Agreed but never shown to Pause")
            items.append(Item(f"{kind}: {item.label}",
                              f"shared in {Phase(phase).label.lower()}"))
        for model, names in data_items.ALWAYS_SERVED[phase].items():
            fields = _personal_fields(model, only=names)
            for cls in RANK:
                picked = [n for n, c in fields.items() if c is cls]
                if picked:
                    items.append(Item(f"{CLASS_WORDS[cls]}: Pause's own records, {_model_words(model)}",
                                      f"{', '.join(picked)}, in {Phase(phase).label.lower()}"))
    return items


def agreed(agreement: Agreement, phase: str) -> list[str]:
    return data_items.known(phase, (agreement.data_items or {}).get(str(phase)))


def _model_words(model: type[models.Model]) -> str:
    return MODEL_WORDS.get(model._meta.label_lower) or str(model._meta.verbose_name_plural)


def _word(model: type[models.Model], name: str) -> str:
    return FIELD_WORDS.get(name) or str(model._meta.get_field(name).verbose_name)


def _personal_fields(model: type[models.Model], only=None) -> dict[str, DataClass]:
    """Its personal fields (of `only`, if given) in words -> their class: not safe, and not a blind
    index (an index is a keyed digest of a field already listed)."""
    out = {}
    for name, cls in classification_of(model).items():
        if only is not None and name not in only:
            continue
        if cls is DataClass.SAFE or isinstance(model._meta.get_field(name), BlindIndexField):
            continue
        out[_word(model, name)] = cls
    return out


def _highest(serves: dict[type[models.Model], frozenset[str]]) -> DataClass | None:
    """The most sensitive class of the fields an item serves. A value read live from the Trust's
    record (her name, a child's year of birth) takes that record's class; one classified nowhere (a
    child's removal year, worked out from the care episodes) is an indirect identifier."""
    found = set()
    for model, names in serves.items():
        for name in names:
            sources = [classification_of(model)] + [classification_of(apps.get_model(m)) for m in
                                                    LIVE_SOURCES.get(model._meta.label_lower, ())]
            found.add(next((c[name] for c in sources if name in c), DataClass.QUASI))
    return next((cls for cls in RANK if cls in found), None)
