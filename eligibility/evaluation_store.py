"""Writing a run's evaluations (ADR 42): `COPY` on PostgreSQL (rows made as COPY's text by
`copy_text`, ADR 51; `copy=True` elsewhere uses the import's loader,
`eligibility.staging.StagingTable`), `bulk_create` otherwise, and the digest that says whether a
woman's evaluation changed at all.

An evaluation is unchanged when every value a run would write for her is equal to the standing
one's: proposal, explanation, the counts, the evidence digest and the evidence itself (which
names the reference date, the window and the rule-set version). `content_digest` is the SHA-256
of exactly those values; equal digests, and the run re-uses her standing row instead of writing it
again.
"""

from __future__ import annotations

import hashlib
import json
import marshal
from collections.abc import Sequence

from django.db import connection

from eligibility.engine import WomanEvaluation
from eligibility.models import Evaluation, EvaluationRun
from eligibility.staging import StagingTable

BATCH = 2000
COLUMNS = (
    ("run_id", "int"), ("woman_id", "int"), ("proposal", "text"), ("explanation", "text"), ("evidence", "text"),
    ("evidence_digest", "text"), ("children_removed", "int"), ("children_for_review", "int"),
    ("content_digest", "text"),
)


# The evidence's entries that the evidence digest already covers (`engine.digest_of`'s `decisive`:
# her events, the children removed and for review, the signals): hashed once, not twice.
IN_EVIDENCE_DIGEST = frozenset({"events", "children_removed", "children_for_review", "signals"})
# The JSON as the model's field would write it, less the spaces and the circularity check (jsonb
# keeps values, not text).
_to_json = json.JSONEncoder(check_circular=False, separators=(",", ":")).encode


def content_digest(r: WomanEvaluation) -> str:
    """Of every value stored for her (marshal format 2, by value alone, as `engine.digest_of`):
    the evidence digest, and every other entry of the evidence by name."""
    rest = tuple((k, v) for k, v in r.evidence.items() if k not in IN_EVIDENCE_DIGEST)
    stored = (r.digest, r.proposal.value, r.explanation, len(r.children_removed), len(r.children_for_review), rest)
    return hashlib.sha256(marshal.dumps(stored, 2)).hexdigest()


def write(run: EvaluationRun, results: Sequence[WomanEvaluation], digests: Sequence[str], *,
          copy: bool | None = None) -> int:
    """Store `results` (with their `content_digest`s) as evaluations of `run`; returns how many.
    `copy`: COPY (PostgreSQL only) or the ORM's `bulk_create`; by default COPY where it exists."""
    if copy is None:
        copy = connection.vendor == "postgresql"
    if copy:
        _copy(run, results, digests)
    else:
        for start in range(0, len(results), BATCH):
            Evaluation.objects.bulk_create(
                Evaluation(run=run, woman_id=r.woman_id, proposal=r.proposal, explanation=r.explanation,
                           evidence=r.evidence, evidence_digest=r.digest, children_removed=len(r.children_removed),
                           children_for_review=len(r.children_for_review), content_digest=d)
                for r, d in zip(results[start: start + BATCH], digests[start: start + BATCH], strict=True)
            )
    return len(results)


def _copy(run: EvaluationRun, results: Sequence[WomanEvaluation], digests: Sequence[str]) -> None:
    if connection.vendor != "postgresql":  # the import's loader: executemany, the evidence as JSON text
        table = StagingTable(Evaluation._meta.db_table, COLUMNS)
        for r, d in zip(results, digests, strict=True):
            table.add((run.pk, r.woman_id, r.proposal.value, r.explanation, _to_json(r.evidence), r.digest,
                       len(r.children_removed), len(r.children_for_review), d))
        table.flush()
        return
    with connection.cursor() as cursor, cursor.cursor.copy(COPY_SQL) as copy:
        for start in range(0, len(results), BATCH):
            copy.write(copy_text(run.pk, results[start: start + BATCH], digests[start: start + BATCH]))


COPY_SQL = f"COPY {Evaluation._meta.db_table} ({', '.join(c for c, _ in COLUMNS)}) FROM STDIN"
# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(run_id: int, results: Sequence[WomanEvaluation], digests: Sequence[str]) -> bytes:
    """The rows of `results` as `COPY_SQL` reads them (text format, UTF-8): the evidence as JSON
    text, which PostgreSQL reads into jsonb, COPY bypassing the model's field. Made in whichever
    process evaluated them (ADR 51)."""
    dumps, escapes = _to_json, _COPY_ESCAPES
    lines = []
    for r, d in zip(results, digests, strict=True):
        explanation = r.explanation
        if "\\" in explanation or "\t" in explanation or "\n" in explanation or "\r" in explanation:
            explanation = explanation.translate(escapes)
        # the JSON is ASCII with every control character escaped: a backslash is all COPY needs escaped
        lines.append(f"{run_id}\t{r.woman_id}\t{r.proposal.value}\t{explanation}\t"
                     f"{dumps(r.evidence).replace(chr(92), chr(92) * 2)}\t{r.digest}\t{len(r.children_removed)}\t"
                     f"{len(r.children_for_review)}\t{d}\n")
    return "".join(lines).encode()
