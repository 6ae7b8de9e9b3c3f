"""Possible duplicates: the same woman under two Trust person ids.

After an import, `propose_duplicates` looks for other women of the programme whose blind index
of the NHS number, or of the normalised surname and date of birth, equals one of the imported
women's, and proposes each new pair once (`DuplicateProposal`). It works on sets, in the
database: the number of queries does not grow with the number of women. A pair already
proposed is never proposed again, whatever was decided.

A caseworker then confirms or rejects the proposal with a reason (`confirm_duplicate`,
`reject_duplicate`). Confirming records the decision only: records are never merged
automatically.

Indexes carry their key version (``v<version>:<hex>``). Equal strings are found in SQL. While a
blind-index key rotation is under way (more than one live version and rows not yet re-indexed),
the rows still on an older version are decrypted and indexed under the current version in
memory, so a woman imported after the rotation still matches one imported before it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from itertools import combinations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from eligibility.models import DuplicateProposal, DuplicateReason, DuplicateStatus, Woman
from pause_portal.tenancy.models import Person, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.blind_index import IndexKind
from pseudonymisation.fields import Protector

# Index field, the kind of value it indexes, and the reason a match on it gives. The NHS number
# comes first: a pair matching on both is proposed for its NHS number.
MATCHES = (
    ("nhs_number_index", IndexKind.NHS_NUMBER, DuplicateReason.NHS_NUMBER),
    ("surname_dob_index", IndexKind.SURNAME_DOB, DuplicateReason.SURNAME_DOB),
)


def _as_queryset(women) -> QuerySet[Woman]:
    """The women as a query (kept in the database when given as one)."""
    if isinstance(women, QuerySet):
        return women
    return Woman.objects.filter(pk__in=[w.pk for w in women])


def propose_duplicates(
    programme: Programme, women: QuerySet[Woman] | Iterable[Woman], *, protector: Protector | None = None
) -> int:
    """Propose, once per pair, every woman of the programme who shares an NHS number index or a
    surname + date of birth index with one of `women` (the women an import just wrote: created,
    updated or found unchanged; a queryset keeps the work in the database whatever their
    number). Returns the
    number of new proposals. Invalid NHS numbers have no index and never match."""
    touched = _as_queryset(women)
    reasons: dict[tuple[int, int], DuplicateReason] = {}

    # Equal index strings (same key version), found in SQL: only the rows sharing an index with
    # another row come back. Blind-index keys are the programme's own, so equal strings never
    # span programmes; the inner queries leave the programme out (with the statistics of a table
    # just bulk-loaded, PostgreSQL would otherwise intersect the whole programme's index once per
    # imported woman), and the outer one keeps it.
    shared = Q()
    for name, _, _ in MATCHES:
        in_touched = touched.filter(**{f"{name}__isnull": False}).values(name)
        repeated = (
            Woman.objects.filter(**{f"{name}__in": in_touched})
            .values(name).annotate(n=Count("pk")).filter(n__gt=1).values(name)
        )
        shared |= Q(**{f"{name}__in": repeated})
    rows = Woman.objects.filter(programme=programme).filter(shared).order_by()
    _pair_up(reasons, rows.values_list("pk", *(name for name, _, _ in MATCHES)))

    # Rows still indexed under an older key version (a rotation under way).
    protector = protector or Protector.load(programme.pk, Woman.key_phase)
    if len(protector.indexer.keyring._keys) > 1:
        _pair_across_versions(reasons, programme, touched, protector)

    if not reasons:
        return 0
    known = set(DuplicateProposal.objects.filter(programme=programme).values_list("woman_a_id", "woman_b_id"))
    now = timezone.now()
    new = [
        DuplicateProposal(programme=programme, woman_a_id=a, woman_b_id=b, reason=reason, proposed_at=now)
        for (a, b), reason in sorted(reasons.items())
        if (a, b) not in known
    ]
    DuplicateProposal.objects.bulk_create(new)  # in as few statements as the database allows
    return len(new)


def _pair_up(reasons: dict, rows: Iterable[tuple], only: set[int] | None = None) -> None:
    """Every pair of rows (pk, index per MATCHES...) with an equal index; with `only`, just the
    groups that hold at least one of those pks."""
    rows = list(rows)
    for position, (_, _, reason) in enumerate(MATCHES, start=1):
        groups: dict[str, list[int]] = defaultdict(list)
        for row in rows:
            if row[position]:
                groups[row[position]].append(row[0])
        for pks in groups.values():
            if len(pks) < 2 or (only is not None and not only.intersection(pks)):
                continue
            for pair in combinations(sorted(set(pks)), 2):
                reasons.setdefault(pair, reason)


def _pair_across_versions(reasons: dict, programme: Programme, touched: QuerySet[Woman], protector: Protector) -> None:
    current = f"v{protector.indexer.version}:"
    names = [name for name, _, _ in MATCHES]
    stale_q = Q()
    for name in names:
        stale_q |= Q(**{f"{name}__isnull": False}) & ~Q(**{f"{name}__startswith": current})
    stale = list(
        Woman.objects.filter(programme=programme).filter(stale_q)
        .only("pk", "row_uid", "nhs_number", "surname", "date_of_birth", *names)
    )
    if not stale:
        return
    recomputed = {w.pk: _current_indexes(w, protector, current) for w in stale}
    rows = [
        (pk, *(recomputed[pk] if pk in recomputed else values))
        for pk, *values in Woman.objects.filter(programme=programme).values_list("pk", *names).iterator(chunk_size=5000)
    ]
    only = set(touched.values_list("pk", flat=True))
    _pair_up(reasons, rows, only=only)


def _current_indexes(woman: Woman, protector: Protector, current: str) -> tuple:
    """The woman's indexes under the current key version, from her decrypted values (an index
    she does not have stays absent: an invalid NHS number is never matched on)."""
    out = []
    for name, kind, _ in MATCHES:
        stored = getattr(woman, name)
        if not stored or stored.startswith(current):
            out.append(stored)
            continue
        if kind == IndexKind.NHS_NUMBER:
            value = woman.reveal(protector, "nhs_number")
        else:
            dob = woman.reveal(protector, "date_of_birth")
            value = (woman.reveal(protector, "surname"), date.fromisoformat(dob) if dob else None)
        try:
            out.append(protector.indexer.index(kind, value))
        except (ValueError, TypeError):
            out.append(None)
    return tuple(out)


# --- the caseworker's decision ---------------------------------------------------------------
def confirm_duplicate(*, proposal: DuplicateProposal, by: Person, reason: str) -> DuplicateProposal:
    """Record that the two records are the same woman. Records the decision only: nothing is
    merged, moved or deleted."""
    return _decide(proposal, by, reason, DuplicateStatus.CONFIRMED)


def reject_duplicate(*, proposal: DuplicateProposal, by: Person, reason: str) -> DuplicateProposal:
    """Record that the two records are different women; the pair is never proposed again."""
    return _decide(proposal, by, reason, DuplicateStatus.REJECTED)


def may_decide(person: Person, programme_id: int) -> str | None:
    """The person's role if they may decide the programme's duplicate proposals, else None."""
    membership = membership_in(person, programme_id)
    if membership is None or not role_has(membership.role, Perm.DECIDE_ELIGIBILITY):
        return None
    return membership.role


def _decide(proposal: DuplicateProposal, by: Person, reason: str, status: DuplicateStatus) -> DuplicateProposal:
    role = may_decide(by, proposal.programme_id)
    if role is None:
        raise PermissionDenied("Only the programme's Trust caseworkers and leads decide possible duplicates.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Enter the reason for your decision")
    with transaction.atomic():
        proposal = (
            DuplicateProposal.objects.select_for_update()
            .select_related("programme", "woman_a", "woman_b").get(pk=proposal.pk)
        )
        if proposal.status != DuplicateStatus.OPEN:
            raise ValidationError("This possible duplicate has already been decided")
        proposal.status = status
        proposal.decided_by = by
        proposal.decided_at = timezone.now()
        proposal.decision_reason = reason
        proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        verdict = "confirmed as the same woman (recorded only; no record merged)" if status == DuplicateStatus.CONFIRMED \
            else "rejected: different women"
        record_event(
            Event.CHANGE, actor=by, target=proposal, subjects=[proposal.woman_a, proposal.woman_b],
            subject_model=DuplicateProposal, programme=proposal.programme, role=role,
            reason=f"possible duplicate #{proposal.pk} {verdict}", action=1,
        )
    return proposal
