"""Recompute on both cores (ADR 51): each forked process evaluates its part of the women, works
out which evaluations changed against the standing ones (`run_changes.Tally`), and makes the
changed rows as COPY's text; the parent streams that text into `eligibility_evaluation` inside
its one transaction as it arrives, so PostgreSQL stores rows while the rules still run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import date
from functools import partial

from django.db import connection

from eligibility import engine
from eligibility.evaluation_store import COPY_SQL, content_digest, copy_text
from eligibility.forked import Forked
from eligibility.run_changes import Before, Tally
from pseudonymisation.fields import Protector

CHUNK = 2000  # women a message
ROWS, DONE = 0, 1


def write_on_both_cores(programme_id: int, rules: engine.CompiledRules, reference_date: date, protector: Protector,
                        before: Before, run_id: int, parts: list[tuple[int, int]]) -> tuple[Tally, dict[int, str]]:
    """Evaluate the women of `parts`, one process each, and COPY the changed evaluations as rows of
    run `run_id` (which the caller creates before its transaction commits: the foreign key is
    checked then). Returns the tally of the whole programme, and each woman's evidence digest."""
    tally, digests = Tally(), {}
    tallies: list[tuple | None] = [None] * len(parts)
    work = partial(_part, programme_id, rules, reference_date, protector, before, run_id)
    with connection.cursor() as cursor, cursor.cursor.copy(COPY_SQL) as copy, Forked(work, parts) as forked:
        for i, (kind, value) in forked.results():
            if kind == ROWS:
                copy.write(value)
            else:
                tallies[i], part_digests = value
                digests.update(part_digests)
    for sent in tallies:  # in pk order: the lists come out as one process makes them
        tally.add(sent)
    return tally, digests


def _part(programme_id: int, rules: engine.CompiledRules, reference_date: date, protector: Protector,
          before: Before, run_id: int, pks: tuple[int, int]) -> Iterator[tuple[int, object]]:
    """In a forked process: its rows, CHUNK women at a time, then its tally and digests."""
    gc.disable()  # as the engine does while it builds evaluations; the process ends with its work
    tally, digests, changed, contents = Tally(), {}, [], []
    for r in engine.evaluations(programme_id, rules, reference_date, protector, pks=pks):
        digests[r.woman_id] = r.digest
        content = content_digest(r)
        if tally.count(r.woman_id, r.proposal.value, r.digest, content, before):
            changed.append(r)
            contents.append(content)
            if len(changed) == CHUNK:
                yield ROWS, copy_text(run_id, changed, contents)
                changed, contents = [], []
    if changed:
        yield ROWS, copy_text(run_id, changed, contents)
    yield DONE, (tally.as_sent(), digests)
