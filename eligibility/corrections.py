"""Rectification and erasure: the records the extract import must honour.

`correct` rectifies one field of a woman or a child (UK GDPR Art. 16) and keeps the value
history as `Correction` rows; `active_corrections` gives the import the corrected values of a
batch of records, so a later extract cannot silently undo a rectification.

`erase_tombstone` records that a person was erased (Art. 17) as an `ErasedPerson` holding only the
blind index of their Trust person id; the import reads `erased_terms` and checks each person with
`is_erased`, so an erased person never comes back with the next extract.

Tombstones and blind-index key rotation: a tombstone is indexed under the blind-index key version
current when the person was erased, and it cannot be re-indexed later — the person id is not
kept anywhere, so `reencrypt_fields` (which re-indexes a row by decrypting its identifiers) has
nothing to re-index it from and does not touch it. It stays matchable anyway, because matching
uses every live key version (`BlindIndexer.search_terms`, as the import's own matching does), and
an older version stays live after a rotation: key versions are never destroyed one at a time,
only a whole scope at once (`pseudonymisation.keys.destroy`), after which the programme's
records cannot be imported at all (loading its keys raises KeyDestroyed). Storing the index
under every live version at erasure would add nothing for that reason. The limitation to carry
into the key-rotation tooling: a future command that destroys a single old blind-index version
must first refuse while tombstones exist only under that version (or have them re-indexed when
an extract row matches one under an older version, the only moment the id is seen again).

Only the programme's data protection officer (who answers rights requests) may erase. A correction
is made by the DPO, or by a Trust caseworker of the programme from an open rectification request
about that woman (issue 9): the caseworker checks the case system and corrects the record; the
request's reference goes into the audit entry. Rights requests are not this module's to judge: the
code that owns them (`audit.oversight.rights.rectify`) checks the request — a rectification, open,
of this programme and about this woman — and passes what it checked as an `OpenRectification`.
Nothing else lets a caseworker correct; this module still refuses a record that is not that
woman's, or her child's.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from auditlog.models import AbstractLogEntry
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from audit.core.log import record_event
from audit.core.models import Event
from eligibility.extract import codes
from eligibility.extract.values import (
    canonical_id,
    nhs_number_is_valid,
    normalise_code,
    normalise_nhs_number,
    normalise_postcode,
    parse_date,
)
from eligibility.models import Child, Correction, ErasedPerson, Woman
from pause_portal.tenancy.models import Person, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.blind_index import BlindIndexer, IndexKind
from pseudonymisation.fields import EncryptedField, Protector

REASON_MAX = ErasedPerson._meta.get_field("reason").max_length
_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}", re.ASCII)
_FK_OF = {Woman: "woman", Child: "child"}


# --- values: each parser names the field in its message, never the value -------------------
def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _date(value) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return parse_date(value)
    except (TypeError, ValueError):
        raise ValueError("The value is not a date (YYYY-MM-DD or DD/MM/YYYY).") from None


def _nhs_number(value) -> str | None:
    text = _text(value)
    if text is None:
        return None
    number = normalise_nhs_number(text)
    if not nhs_number_is_valid(number):
        raise ValueError("An NHS number has 10 digits and a valid check digit.")
    return number


def _postcode(value) -> str | None:
    text = _text(value)
    if text is None:
        return None
    postcode = normalise_postcode(text)
    if not _POSTCODE.fullmatch(postcode):
        raise ValueError("The value is not a UK postcode.")
    return postcode


def _code_of(code_list) -> Callable[[object], str | None]:
    def parse(value) -> str | None:
        text = _text(value)
        if text is None:
            return None
        code = normalise_code(text)
        if code not in code_list:
            raise ValueError(f"The value is not one of the codes: {', '.join(code_list)}.")
        return code

    return parse


PARSERS: dict[type, dict[str, Callable[[object], object]]] = {
    Woman: {
        "forename": _text,
        "surname": _text,
        "date_of_birth": _date,
        "nhs_number": _nhs_number,
        "postcode": _postcode,
        "ethnicity": _code_of(codes.ETHNICITY),
        "expected_child_due": _date,
        "died_on": _date,
    },
    Child: {"date_of_birth": _date, "sex": _code_of(codes.SEX)},
}


def as_text(value) -> str | None:
    """A value as corrections store it, and as the import compares extract values with it."""
    if value in (None, ""):
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


@dataclass(frozen=True)
class OpenRectification:
    """An open rectification request about one woman, as the code that owns rights requests
    checked it (`audit.oversight.rights.open_rectification`) just before a Trust caseworker
    corrects her record, or her child's, from it. Anything else passed as a request — a rights
    request itself, checked by nobody — lets no caseworker correct."""

    reference: str
    programme_id: int
    woman_id: int


def _rights_role(person: Person, programme_id: int, rights_request=None, woman_id: int | None = None) -> str:
    membership = membership_in(person, programme_id)
    if membership is not None and role_has(membership.role, Perm.ANSWER_RIGHTS_REQUESTS):
        return membership.role
    if (rights_request is not None and membership is not None
            and role_has(membership.role, Perm.RECTIFY_RECORDS) and _rectifies(rights_request, programme_id, woman_id)):
        return membership.role  # a Trust caseworker acting on the DPO's rectification request
    raise PermissionDenied("Only the programme's data protection officer, or a Trust caseworker from an open "
                           "rectification request about her, corrects records; only the DPO erases them.")


def _rectifies(rights_request, programme_id: int, woman_id: int | None) -> bool:
    """The checked open rectification request is about this woman, in this programme."""
    return (isinstance(rights_request, OpenRectification) and rights_request.programme_id == programme_id
            and woman_id is not None and rights_request.woman_id == woman_id)


def _fk(model: type) -> str:
    try:
        return _FK_OF[model]
    except KeyError:
        raise ValueError(f"Only women and children are corrected, not {model._meta.verbose_name_plural}.") from None


# --- rectification -------------------------------------------------------------------------
def correct(
    record: Woman | Child, field: str, value, *, by: Person, reason: str, protector: Protector | None = None,
    rights_request: OpenRectification | None = None,
) -> Correction:
    """Rectify one field of a woman or a child: record the previous and corrected values as a
    Correction (the earlier active one of the field deactivated, kept), apply the value (blind
    indexes refreshed; a child's birth year kept in step) and write the audit entry, which names
    the field but never a value — all in one transaction. `value` is text or a date; None or ""
    clears the field. The caller's `record` is re-read under a row lock and ends up corrected.

    Raises ValueError, changing nothing, for a field not correctable on the record or a value
    that does not parse; PermissionDenied unless `by` is the programme's DPO, or a Trust caseworker
    with `rights_request` an open rectification request about the woman (or the child's mother), as
    checked by its owner (`OpenRectification`)."""
    model = type(record)
    woman_id = record.pk if isinstance(record, Woman) else getattr(record, "mother_id", None)
    role = _rights_role(by, record.programme_id, rights_request, woman_id)
    parse = PARSERS.get(model, {}).get(field)
    if parse is None:
        raise ValueError(f"{field!r} is not a correctable field of a {model._meta.verbose_name}.")
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("Give the reason for the correction.")
    try:
        new = parse(value)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None
    protector = protector or Protector.load(record.programme_id, model.key_phase)
    fk = _fk(model)
    encrypted = isinstance(model._meta.get_field(field), EncryptedField)

    with transaction.atomic():
        model.objects.select_for_update().values_list("pk", flat=True).get(pk=record.pk)  # lock, then read fresh
        record.refresh_from_db()
        previous = record.reveal(protector, field) if encrypted else as_text(getattr(record, field))
        Correction.objects.filter(**{fk: record, "field": field, "active": True}).update(active=False)
        correction = Correction(programme_id=record.programme_id, field=field, recorded_by=by, **{fk: record})
        correction.protect(protector, previous_value=previous, corrected_value=as_text(new), reason=reason)
        correction.save()
        _apply(record, field, new, protector, encrypted)
        record.save()
        record_event(
            Event.CHANGE, actor=by, target=record, programme=record.programme, role=role,
            reason=f"{field} corrected (rectification, correction #{correction.pk}"
                   + (f", rights request {rights_request.reference})" if rights_request is not None else ")"),
            action=AbstractLogEntry.Action.UPDATE,
        )
    return correction


def _apply(record: Woman | Child, field: str, new, protector: Protector, encrypted: bool) -> None:
    if encrypted:
        record.protect(protector, **{field: new})
    else:
        empty = None if record._meta.get_field(field).null else ""
        setattr(record, field, empty if new is None else new)
    if isinstance(record, Woman) and field == "nhs_number":
        record.nhs_number_valid = True if new else None  # a corrected number is a valid one
    if isinstance(record, Child) and field == "date_of_birth":
        record.birth_year = new.year if new else None


def active_corrections(
    model: type[Woman] | type[Child], record_ids: Iterable[int], protector: Protector
) -> dict[int, dict[str, str | None]]:
    """The active corrected values of a batch of women or children, in one query: record id ->
    field -> value as text (ISO for a date; None for a field corrected to empty). Records without
    a correction are absent. The import keeps these values over the extract's."""
    fk_id = f"{_fk(model)}_id"
    rows = (
        Correction.objects.filter(**{f"{fk_id}__in": list(record_ids), "active": True})
        .order_by()
        .only("row_uid", fk_id, "field", "corrected_value")
    )
    values: dict[int, dict[str, str | None]] = defaultdict(dict)
    for row in rows:
        values[getattr(row, fk_id)][row.field] = row.reveal(protector, "corrected_value")
    return dict(values)


# --- erasure tombstones --------------------------------------------------------------------
def erase_tombstone(programme: Programme, trust_person_id: str, *, by: Person, reason: str) -> ErasedPerson:
    """Record that the person with this Trust person id was erased from the programme, as the
    blind index of the canonical id under the current key version (the id itself is never
    stored). Idempotent: a person already erased, under any live key version, gets their
    existing tombstone back. `reason` is a reason code and the request reference (e.g.
    "art17 DPO-2025-014"), never personal data. Erasing the person's records is not done here.
    See the module docstring for what happens to tombstones when the blind-index key rotates."""
    role = _rights_role(by, programme.pk)
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > REASON_MAX:
        raise ValueError(f"Give a reason code and the request reference, in at most {REASON_MAX} characters.")
    person_id = canonical_id(trust_person_id or "")
    if not person_id:
        raise ValueError("Give the Trust person id of the person erased.")
    indexer = Protector.load(programme.pk, Woman.key_phase).indexer
    terms = indexer.search_terms(IndexKind.PERSON_ID, person_id)
    index = indexer.index(IndexKind.PERSON_ID, person_id)

    with transaction.atomic():
        existing = ErasedPerson.objects.filter(programme=programme, person_id_index__in=terms).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                tombstone = ErasedPerson.objects.create(
                    programme=programme, person_id_index=index, erased_by=by, reason=reason
                )
        except IntegrityError:  # erased by someone else at the same moment
            return ErasedPerson.objects.get(programme=programme, person_id_index=index)
        record_event(
            Event.CHANGE, actor=by, target=tombstone, programme=programme, role=role,
            reason=f"erasure tombstone #{tombstone.pk} recorded ({reason})",
            action=AbstractLogEntry.Action.CREATE,
        )
    return tombstone


def erased_terms(programme: Programme) -> set[str]:
    """Every tombstone index of the programme (``v<version>:<hex>``, each under the key version
    current when its person was erased). Check a person with `is_erased`, which tries every live
    key version, never by comparing one freshly computed index."""
    return set(ErasedPerson.objects.filter(programme=programme).values_list("person_id_index", flat=True))


def is_erased(trust_person_id: str, terms: set[str], indexer: BlindIndexer) -> bool:
    """True if the person's index under any live key version is one of `terms` (erased_terms)."""
    return not terms.isdisjoint(indexer.search_terms(IndexKind.PERSON_ID, canonical_id(trust_person_id)))
