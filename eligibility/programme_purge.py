"""Deleting every Trust case record of a programme when it closes (issue 22, point 2; ADR 39).

`sharing.closing.close_programme` calls `delete_case_records` inside its transaction, after the
sharing rows that point at these records are gone. The history models (evaluations, decisions,
re-reviews) refuse deletion through their own managers (`pause_portal.append_only`); like
erasure (`audit.oversight.erasure`), this is one deliberate path past that guard, through a plain
queryset, for one programme's rows only. Deletion goes children first: every foreign key between
these records PROTECTs, so a row still pointed at by anything not listed here stops the whole
purge (ProtectedError) rather than be left half-done.

Kept: the programme's rule sets, column mappings and evaluation runs (configuration and counts,
no personal data), and the erasure tombstones (`ErasedPerson`: a blind index only).
"""

from __future__ import annotations

from django.db import models

from eligibility.models import (
    CareEpisode,
    Child,
    Correction,
    Decision,
    DuplicateProposal,
    Evaluation,
    Extract,
    LegalStatus,
    ReReview,
    Restriction,
    Woman,
)
from pause_portal.tenancy.models import Programme

# (model, the lookup from it to its programme), in the order they are deleted.
CASE_RECORDS: tuple[tuple[type[models.Model], str], ...] = (
    (ReReview, "woman__programme"),
    (Decision, "programme"),
    (Evaluation, "woman__programme"),
    (Restriction, "programme"),
    (Correction, "programme"),
    (DuplicateProposal, "programme"),
    (LegalStatus, "child__programme"),
    (CareEpisode, "child__programme"),
    (Child, "programme"),
    (Woman, "programme"),
    (Extract, "programme"),
)


def upload_folders(programme: Programme) -> list[str]:
    """The kept (encrypted) upload folders of the programme's extracts, to delete from disk once
    the purge commits (`eligibility.uploads.discard`)."""
    return [u for u in Extract.objects.filter(programme=programme).exclude(upload_id="")
            .values_list("upload_id", flat=True)]


def delete_case_records(programme: Programme) -> list[tuple[type[models.Model], int]]:
    """Delete the programme's Trust case records (inside the caller's transaction); returns each
    model with the rows deleted, in `CASE_RECORDS` order."""
    done = []
    for model, lookup in CASE_RECORDS:
        rows = models.QuerySet(model=model).filter(**{lookup: programme})
        ids = list(rows.values_list("pk", flat=True))
        _deleted, per_label = models.QuerySet(model=model).filter(pk__in=ids).delete()
        done.append((model, per_label.get(model._meta.label, 0)))
    return done
