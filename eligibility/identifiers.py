"""Finding a programme's women (and children) by an exact identifier, through the blind indexes.

One set of rules for every page that looks someone up by a Trust person id, an NHS number or a
surname (the restrictions page, the DPO's rights requests, the access review's person report, the
decision queue's search), so the pages cannot disagree about whom a value finds:

- the value is indexed under EVERY live key version of the programme's blind-index key, so a
  record not yet re-indexed after a key rotation is still found;
- no key (nothing imported yet), a destroyed key or a forgotten scope secret finds nobody: there
  are no records to find, or none that may be found;
- a value that cannot be normalised (an NHS number without 10 digits, a blank person id, a surname
  without a letter) finds nobody.

A key store that is not configured (a missing master secret or key store) is not "no key": it is
an error of the service, and it is raised, never taken to mean that nobody was found.

Plaintext is never read: a search compares index terms only.
"""

from __future__ import annotations

from django.db.models import QuerySet

from eligibility.models import Child, Woman
from pause_portal.tenancy.models import Programme
from pseudonymisation.blind_index import IndexKind
from pseudonymisation.errors import KeyUnavailable
from pseudonymisation.fields import Protector

# The woman's blind index of each kind of identifier (a child has a Trust person id index only).
WOMAN_INDEX: dict[IndexKind, str] = {
    IndexKind.PERSON_ID: "person_id_index",
    IndexKind.NHS_NUMBER: "nhs_number_index",
    IndexKind.SURNAME: "surname_index",
    IndexKind.SURNAME_DOB: "surname_dob_index",
}


def search_terms(programme: Programme, kind: IndexKind | str, value) -> list[str]:
    """The value's blind index under every live key version of the programme, or no terms at all
    when the programme has no usable key (none yet, destroyed, its secret forgotten) or the value
    cannot be normalised. A filter on no terms finds nobody."""
    kind = IndexKind(kind)
    try:
        indexer = Protector.load(programme.pk, Woman.key_phase, create=False).indexer
    except KeyUnavailable:  # KeyDestroyed and ScopeSecretMissing are kinds of it
        return []
    try:
        return indexer.search_terms(kind, value)
    except ValueError:
        return []


def find_women(programme: Programme, kind: IndexKind | str, value) -> QuerySet[Woman]:
    """The programme's women whose index of this kind matches the value exactly, oldest first."""
    kind = IndexKind(kind)
    terms = search_terms(programme, kind, value)
    return Woman.objects.filter(programme=programme, **{f"{WOMAN_INDEX[kind]}__in": terms}).order_by("pk")


def find_woman(programme: Programme, kind: IndexKind | str, value) -> Woman | None:
    """The programme's woman with exactly this identifier, or None. A Trust person id is unique
    within a programme; for an NHS number shared by two records the first recorded is given."""
    return find_women(programme, kind, value).first()


def find_children(programme: Programme, trust_person_id: str) -> QuerySet[Child]:
    """The programme's children with exactly this Trust person id (children have no other index)."""
    terms = search_terms(programme, IndexKind.PERSON_ID, trust_person_id)
    return Child.objects.filter(programme=programme, person_id_index__in=terms).order_by("pk")
