"""Lawful bases as the law names them, for each controller (issue 21, point 4; ADR 31).

Each controller — the Trust, and Pause (a charity, a controller in its own right) — relies on three
things, recorded as three separate fields:

- its UK GDPR Article 6 basis: (c), (d), (e) or (f);
- its Article 9 condition for special category data, with the DPA 2018 Schedule 1 condition
  where the Article needs one: (2)(a), (2)(c), (2)(g) or (2)(h);
- for a public task or a legal obligation, the law that sets it out (Art. 6(3); DPA 2018 s.8):
  a statutory power from `SEEDED_POWERS`, or one a Trust lead added and the Caldicott Guardian
  confirmed (`sharing.models_powers.StatutoryPower`, code ``power_<id>``).

Records hold codes (`{"trust": {"article_6": …, "article_9": …, "power": …}, "pause": {…}}`);
pages, exports and packs show `in_words`, never a code. The agreement holds both controllers'
bases; a release, a phase change and a concern each keep the bases they relied on.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

CONTROLLERS: dict[str, str] = {"trust": "The Trust", "pause": "Pause"}
WHOSE: dict[str, str] = {"trust": "the Trust's", "pause": "Pause's"}
FIELDS = ("article_6", "article_9", "power")


@dataclass(frozen=True)
class Basis:
    code: str
    label: str  # plain words first, the citation after
    needs_policy_document: bool = False  # DPA 2018 Sch. 1 Part 2 (para 5): an appropriate policy document
    needs_power: bool = False  # Art. 6(3): the task or obligation is laid down by law


ARTICLE_6: dict[str, Basis] = {b.code: b for b in (
    Basis("art6_1_c", "A legal obligation the controller must meet (UK GDPR Article 6(1)(c))", needs_power=True),
    Basis("art6_1_d", "To protect someone's life (vital interests, UK GDPR Article 6(1)(d))"),
    Basis("art6_1_e", "A task in the public interest or an official function (public task, UK GDPR "
                      "Article 6(1)(e))", needs_power=True),
    Basis("art6_1_f", "Legitimate interests, balanced against hers (UK GDPR Article 6(1)(f))"),
)}

ARTICLE_9: dict[str, Basis] = {b.code: b for b in (
    Basis("art9_2_a", "Her explicit consent (UK GDPR Article 9(2)(a))"),
    Basis("art9_2_c", "To protect her or someone else's life when she cannot consent (vital interests, UK GDPR "
                      "Article 9(2)(c))"),
    Basis("art9_2_g", "Safeguarding children and people at risk (substantial public interest, UK GDPR Article "
                      "9(2)(g) with DPA 2018 Schedule 1 Part 2 paragraph 18)", needs_policy_document=True),
    Basis("art9_2_g_p6", "A function given by law (substantial public interest, UK GDPR Article 9(2)(g) with "
                         "DPA 2018 Schedule 1 Part 2 paragraph 6)", needs_policy_document=True),
    Basis("art9_2_h", "Health or social care (UK GDPR Article 9(2)(h) with DPA 2018 Schedule 1 Part 1 "
                      "paragraph 2)"),
)}

# The statutory powers children's services and the privacy notice rely on. A Trust's lawyers say
# which applies (and whether a children's trust company acts under powers delegated by its
# council): a Trust lead adds others, which the Caldicott Guardian confirms.
SEEDED_POWERS: dict[str, str] = {
    "ca2004_s10": "Children Act 2004, section 10: co-operation to improve the well-being of children",
    "ca2004_s11": "Children Act 2004, section 11: arrangements to safeguard and promote the welfare of children",
    "ca1989_s17": "Children Act 1989, section 17: services for children in need and their families",
    "ca1989_s47": "Children Act 1989, section 47: the local authority's duty to make enquiries",
}

# Codes of earlier records -> today's: agreements once held one list of codes for both Articles
# (sharing 0013 rewrites them); concerns once held "sch1_p2_18" for paragraph 18.
LEGACY_ARTICLE_9 = {"sch1_p2_18": "art9_2_g"}

POWER_PREFIX = "power_"


def power_choices(programme_id: int | None) -> list[tuple[str, str]]:
    """The statutory powers a record may cite in a programme: the seeded ones, then those its
    Caldicott Guardian confirmed."""
    from sharing.models_powers import StatutoryPower

    added = []
    if programme_id is not None:
        added = [(p.code, p.label) for p in StatutoryPower.objects.confirmed(programme_id)]
    return list(SEEDED_POWERS.items()) + added


def power_label(code: str) -> str:
    if code in SEEDED_POWERS:
        return SEEDED_POWERS[code]
    if code.startswith(POWER_PREFIX) and code[len(POWER_PREFIX):].isdigit():
        from sharing.models_powers import StatutoryPower

        power = StatutoryPower.objects.filter(pk=int(code[len(POWER_PREFIX):])).first()
        if power is not None:
            return power.label
    return "A statutory power no longer on record"


def label(field: str, code: str) -> str:
    """A code's plain words; never the code itself."""
    if not code:
        return "Not recorded"
    if field == "article_6":
        return ARTICLE_6[code].label if code in ARTICLE_6 else "An Article 6 basis no longer on record"
    if field == "article_9":
        code = LEGACY_ARTICLE_9.get(code, code)
        return ARTICLE_9[code].label if code in ARTICLE_9 else "An Article 9 condition no longer on record"
    return power_label(code)


def normalised(value) -> dict[str, dict[str, str]]:
    """Any stored shape as {controller: {field: code}}: today's dict, or an earlier flat list of
    codes (all the Trust's, as the agreement held them)."""
    if isinstance(value, dict):
        return {c: {f: str((value.get(c) or {}).get(f) or "") for f in FIELDS} for c in CONTROLLERS if c in value}
    codes = [LEGACY_ARTICLE_9.get(c, c) for c in (value or [])]
    if not codes:
        return {}
    return {"trust": {"article_6": next((c for c in codes if c in ARTICLE_6), ""),
                      "article_9": next((c for c in codes if c in ARTICLE_9), ""), "power": ""}}


def lines(value) -> list[str]:
    """Each controller's bases in plain words, one line each, as pages and packs show them."""
    out = []
    for controller, bases in normalised(value).items():
        parts = [label("article_6", bases["article_6"]), label("article_9", bases["article_9"])]
        if bases["power"]:
            parts.append(f"under {label('power', bases['power'])}")
        out.append(f"{CONTROLLERS[controller]}: {'; '.join(parts)}")
    return out or ["Not recorded"]


def in_words(value) -> str:
    return " — ".join(lines(value))


def needs_policy_document(value) -> bool:
    return any(ARTICLE_9.get(b["article_9"], Basis("", "")).needs_policy_document
               for b in normalised(value).values())


def validate(value, *, programme_id: int | None, controllers=tuple(CONTROLLERS), prefix: str = "") -> dict:
    """The bases made tidy, or a ValidationError keyed `<prefix><controller>_<field>` (the forms'
    field names). Every controller named needs an Article 6 basis and an Article 9 condition; a
    public task or legal obligation needs the law that sets it out, and nothing else takes one."""
    errors: dict[str, str] = {}
    clean: dict[str, dict[str, str]] = {}
    powers = dict(power_choices(programme_id))
    given = value if isinstance(value, dict) else {}
    for controller in controllers:
        whose = WHOSE[controller]
        bases = {f: str((given.get(controller) or {}).get(f) or "").strip() for f in FIELDS}
        key = f"{prefix}{controller}_"
        if bases["article_6"] not in ARTICLE_6:
            errors[key + "article_6"] = f"Choose {whose} Article 6 lawful basis from the list"
        if bases["article_9"] not in ARTICLE_9:
            errors[key + "article_9"] = (f"Choose {whose} Article 9 condition: the data include special "
                                         "category data (ethnic group, health and social care)")
        basis = ARTICLE_6.get(bases["article_6"])
        if basis is not None and basis.needs_power and not bases["power"]:
            errors[key + "power"] = ("Choose the law that sets out the task or obligation (UK GDPR Article 6(3)): "
                                     "a public task or a legal obligation needs one")
        elif bases["power"] and bases["power"] not in powers:
            errors[key + "power"] = "Choose a statutory power from the list"
        elif basis is not None and not basis.needs_power and bases["power"]:
            errors[key + "power"] = ("Leave the statutory power empty: only a public task or a legal obligation "
                                     "rests on one")
        clean[controller] = bases
    if errors:
        raise ValidationError({k: ValidationError(v, code="invalid") for k, v in errors.items()})
    return clean
