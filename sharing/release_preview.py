"""The Trust lead's check-your-answers page for a scoping release: what a release would do,
worked out by making it and rolling it back (issue 16). Its own module so that the release
(`sharing.scoping_release`) and the summary tables (`sharing.scoping_tables`, which read the
release's bands) import each other in one direction only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db import transaction

from pause_portal.tenancy.models import Person, Phase, Programme
from sharing.data_items import served_now
from sharing.models_scoping import ScopingChildRow, ScopingWomanRow
from sharing.scoping_release import (
    COLUMN_LABELS,
    agreed_columns,
    release_for_scoping,
    serve_child_year_bands,
)
from sharing.scoping_tables import summary_tables


@dataclass
class ReleasePreview:
    """What a release would do, worked out by making it and rolling it back: the check's report
    (as `ScopingRelease.report` would hold it), and what Pause would then be served — each served
    combination of values beside a token with the number of women who share it (never a token or
    a name), and the summary tables exactly as Pause's pages would show them."""

    report: dict
    combinations: list[tuple[tuple[str, ...], int]]
    columns: list[tuple[str, str]]  # (field, label), in the order of `combinations`' values
    tables: list


class _RollBack(Exception):
    pass


def preview_release(programme: Programme, women, *, by: Person) -> ReleasePreview:
    """Make the release inside a transaction and roll it back: nothing is written, and what the
    page shows is what `release_for_scoping` would make from the same records now. Refuses
    exactly as the release would (ScopingReleaseRefused)."""
    out: dict = {}
    try:
        with transaction.atomic():
            release = release_for_scoping(programme, women, by=by)
            served = list(ScopingWomanRow.objects.filter(programme=programme, withheld=False).order_by("pk"))
            children = list(ScopingChildRow.objects.filter(programme=programme, mother_row__withheld=False)
                            .select_related("mother_row"))
            columns = [(c, COLUMN_LABELS.get(c, c)) for c in agreed_columns(programme)]  # the agreement's items
            serve_child_year_bands(children)  # as the disclosure policy serves them to Pause
            combos = Counter(tuple(str(getattr(r, c)) for c, _ in columns) for r in served)
            out["preview"] = ReleasePreview(
                report=dict(release.report), combinations=sorted(combos.items()), columns=columns,
                tables=list(summary_tables(served, children, allowed=frozenset(
                    set(agreed_columns(programme)) | served_now(programme, Phase.SCOPING)[ScopingChildRow])).values()))
            raise _RollBack
    except _RollBack:
        pass
    return out["preview"]
