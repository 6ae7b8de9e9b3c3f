"""A person, and every subject reference in the audit trail that is about her.

The trail names subjects by reference ("app.model:pk"), one model at a time: her Trust record, her
children, the decisions and corrections about her, her scoping row and its child rows, her delivery
release and what hangs off it (children as delivery tokens, contact attempts, safeguarding concerns,
caseload assignments). The access review asks "who saw her data" of all of them at once.

Finding the person is exact and never reads plaintext: a Trust person id or an NHS number through
the programme's blind indexes (every live key version), a token through the tables that hold it
(scoping rows while scoping lasts, delivery child tokens). After the scoping purge a scoping token
finds nobody, by design (ADR 13): the rows and key that linked it to her are gone, and so is the
link from the purged rows' entries to her.

`PERSON_LINKS` says which models are about a woman or a child and how; a test fails when a model
with a foreign key to one of them is neither listed nor explicitly left out, so a new kind of
record about a person cannot silently drop out of her report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.urls import NoReverseMatch, reverse

from eligibility.identifiers import find_children, find_women
from pseudonymisation.blind_index import IndexKind
from pseudonymisation.errors import InvalidToken
from pseudonymisation.tokens import TokenKind, decode, normalise_token
from sharing.models_delivery import ReleasedChild
from sharing.models_scoping import ScopingChildRow, ScopingWomanRow

WOMAN, CHILD, SCOPING_CHILD = "woman", "child", "scoping child"

# model label -> (the field pointing at what the record is about, what it points at). Followed
# from the woman (or child) outwards: a row about her scoping row or delivery release is about her.
PERSON_LINKS: dict[str, tuple[str, str]] = {
    "eligibility.child": ("mother", "eligibility.woman"),
    "eligibility.decision": ("woman", "eligibility.woman"),
    "eligibility.rereview": ("woman", "eligibility.woman"),
    "eligibility.restriction": ("woman", "eligibility.woman"),
    "eligibility.correction": ("woman", "eligibility.woman"),
    "eligibility.duplicateproposal": ("woman_a", "eligibility.woman"),
    "sharing.scopingwomanrow": ("woman", "eligibility.woman"),
    "sharing.scopingchildrow": ("mother_row", "sharing.scopingwomanrow"),
    "sharing.releasedwoman": ("woman", "eligibility.woman"),
    "sharing.releasedchild": ("released_woman", "sharing.releasedwoman"),
    "sharing.contactattempt": ("released_woman", "sharing.releasedwoman"),
    "sharing.safeguardingconcern": ("released_woman", "sharing.releasedwoman"),
    "sharing.caseloadassignment": ("released_woman", "sharing.releasedwoman"),
    "sharing.absenceconfirmation": ("released_woman", "sharing.releasedwoman"),
    "sharing.releasereinstatement": ("released_woman", "sharing.releasedwoman"),
    "audit.rightsrequest": ("woman", "eligibility.woman"),  # issue 9: a request about her is about her
}
# A second link of the same model (a duplicate proposal names two women).
EXTRA_LINKS: dict[str, tuple[str, str]] = {"eligibility.duplicateproposal": ("woman_b", "eligibility.woman")}
# About a child: her own record, the corrections to it and her delivery token row.
CHILD_LINKS: dict[str, str] = {"eligibility.correction": "child", "sharing.releasedchild": "child"}

# Models with a foreign key to a person's records that are deliberately not followed, and why.
NOT_FOLLOWED: dict[str, str] = {
    "eligibility.evaluation": "one per rule run; never disclosed on its own (the woman is the subject)",
    "eligibility.legalstatus": "a child's status periods; pages disclose the child, never the period",
    "eligibility.careepisode": "a child's care episodes; pages disclose the child, never the episode",
    "sharing.caseloaduserobjectpermission": "django-guardian's permission row, not a record about her",
    "sharing.caseloadgroupobjectpermission": "django-guardian's permission row, not a record about her",
}


@dataclass
class FoundPerson:
    """Someone a search found: what she is, her programme, and every reference about her."""

    kind: str
    programme_id: int
    primary: str  # her own reference: "eligibility.woman:12", "eligibility.child:7", ...
    references: list[str] = field(default_factory=list)


def _pks(label: str, **lookup) -> list[int]:
    try:
        model = apps.get_model(label)
    except LookupError:  # a model of later work, not installed here
        return []
    return list(model.objects.filter(**lookup).values_list("pk", flat=True))


def references_about_woman(woman_id: int) -> list[str]:
    """Her own reference and every reference that is about her (breadth-first over PERSON_LINKS)."""
    found: dict[str, set[int]] = {"eligibility.woman": {woman_id}}
    frontier = ["eligibility.woman"]
    while frontier:
        target, frontier = frontier[0], frontier[1:]
        for label, (fk, points_at) in (*PERSON_LINKS.items(), *EXTRA_LINKS.items()):
            if points_at != target:
                continue
            pks = set(_pks(label, **{f"{fk}_id__in": found[target]}))
            if pks:
                if label not in found:
                    frontier.append(label)
                found.setdefault(label, set()).update(pks)
    children = found.get("eligibility.child", set())
    if children:  # what is about her children is about her too (their delivery rows are found above)
        for label, fk in CHILD_LINKS.items():
            found.setdefault(label, set()).update(_pks(label, **{f"{fk}_id__in": children}))
    return _as_references(found)


def references_about_child(child_id: int) -> list[str]:
    found: dict[str, set[int]] = {"eligibility.child": {child_id}}
    for label, fk in CHILD_LINKS.items():
        found.setdefault(label, set()).update(_pks(label, **{f"{fk}_id": child_id}))
    return _as_references(found)


def _as_references(found: dict[str, set[int]]) -> list[str]:
    return sorted(f"{label}:{pk}" for label, pks in found.items() for pk in pks)


# --- finding her ---------------------------------------------------------------------------
def find_by_identifier(programme, kind: IndexKind, value: str) -> list[FoundPerson]:
    """Women (and, for a Trust id, children) of the programme whose blind index matches exactly
    (`eligibility.identifiers`: every live key version; no key or a malformed value finds nobody)."""
    found = []
    for pk in find_women(programme, kind, value).values_list("pk", flat=True):
        found.append(FoundPerson(WOMAN, programme.pk, f"eligibility.woman:{pk}", references_about_woman(pk)))
    if kind == IndexKind.PERSON_ID:
        for pk in find_children(programme, value).values_list("pk", flat=True):
            found.append(FoundPerson(CHILD, programme.pk, f"eligibility.child:{pk}", references_about_child(pk)))
    return found


def find_by_token(programme, token: str) -> list[FoundPerson]:
    """A scoping token (a woman's or a child's row, while scoping data exists) or a delivery
    child token. Raises InvalidToken for something that is not a well-formed token."""
    token = normalise_token(token)
    kind, _ = decode(token)
    found = []
    if kind == TokenKind.WOMAN:
        for woman_id in ScopingWomanRow.objects.filter(programme=programme, token=token).values_list("woman_id",
                                                                                                    flat=True):
            found.append(FoundPerson(WOMAN, programme.pk, f"eligibility.woman:{woman_id}",
                                     references_about_woman(woman_id)))
        return found
    for child_id in ReleasedChild.objects.filter(programme=programme, token=token).values_list("child_id", flat=True):
        found.append(FoundPerson(CHILD, programme.pk, f"eligibility.child:{child_id}", references_about_child(child_id)))
    # A scoping child row carries no link to the Trust's child (only its mother's row): the row
    # itself is the subject.
    for pk in ScopingChildRow.objects.filter(programme=programme, token=token).values_list("pk", flat=True):
        ref = f"sharing.scopingchildrow:{pk}"
        found.append(FoundPerson(SCOPING_CHILD, programme.pk, ref, [ref]))
    return found


def find_person(programme, kind: str, value: str) -> list[FoundPerson]:
    """kind: "person_id", "nhs_number" or "token"."""
    if kind == "token":
        try:
            return find_by_token(programme, value)
        except InvalidToken:
            return []
    return find_by_identifier(programme, IndexKind(kind), value)


# Pages about one record, by the record's reference: a refused request for one of them (the
# portal answers 404 for a record that is not yours) names no subject, but its address says whose
# page was asked for. URL names not (yet) in the URLconf are skipped.
PAGES_ABOUT: dict[str, tuple[str, ...]] = {
    "eligibility.woman": ("eligibility:woman",),
    "eligibility.duplicateproposal": ("eligibility:duplicate",),
    "sharing.releasedwoman": ("delivery:woman", "casework:woman", "casework:contact", "casework:raise"),
    "sharing.safeguardingconcern": ("casework:concern", "casework:acknowledge", "casework:close"),
}


def pages_about(references: list[str]) -> list[str]:
    """The addresses of the pages about these records."""
    out = []
    for ref in references:
        label, _, pk = ref.partition(":")
        for name in PAGES_ABOUT.get(label, ()):
            try:
                out.append(reverse(name, kwargs={"pk": int(pk)}))
            except NoReverseMatch:
                continue
    return sorted(set(out))


REFERENCE_LABELS = {
    "eligibility.woman": "Her Trust record",
    "eligibility.child": "A child's Trust record",
    "eligibility.decision": "An eligibility decision",
    "eligibility.rereview": "A re-review",
    "eligibility.restriction": "A restriction",
    "eligibility.correction": "A correction",
    "eligibility.duplicateproposal": "A duplicate-person proposal",
    "sharing.scopingwomanrow": "Her scoping row",
    "sharing.scopingchildrow": "A child's scoping row",
    "sharing.releasedwoman": "Her delivery release",
    "sharing.releasedchild": "A child's delivery row",
    "sharing.contactattempt": "A contact attempt",
    "sharing.safeguardingconcern": "A safeguarding concern",
    "sharing.caseloadassignment": "A caseload assignment",
}


REFUSED_PAGE = "refused:page"  # not a reference: marks a refused request for one of her pages


def describe_reference(reference: str) -> str:
    """"eligibility.decision:4" -> "An eligibility decision (#4)": a reference, in words."""
    if reference == REFUSED_PAGE:
        return "A page of her records (refused)"
    label, _, pk = reference.partition(":")
    return f"{REFERENCE_LABELS.get(label, label)} (#{pk})"
