"""Problems stored before the quoting rule (``extract.quoting``, ADR 7) rewritten to follow it.

Until then an unrecognised value was quoted whatever it was (an NHS number typed into the
ethnicity column was stored in the extract's problems and put into its report), and so was a
repeated header (a file with no header row has someone's details there). The stored message
still holds the value, and the column still names where it came from, so the same rule can be
applied afterwards: a value the rule would not quote is replaced by the rule's own wording.
Run once by migration 0008; safe to run again (a rewritten message no longer matches).
"""

from __future__ import annotations

import re

from django.db import transaction

from audit.core.log import record_event
from audit.core.models import Event
from eligibility.extract.quoting import (
    COLUMN_CODE_LISTS,
    COLUMN_KINDS,
    FLAG,
    ColumnKind,
    may_quote,
    unrecognised_message,
)
from eligibility.models import Extract
from pause_portal.tenancy.models import Programme

_OLD_UNRECOGNISED = re.compile(
    r"(?P<name>.*) has a code that is not recognised \((?P<value>.*)\)\. The row is kept and will be shown for review",
    re.DOTALL,
)
_OLD_DUPLICATE = re.compile(r"(?P<file>.*) has more than one column called (?P<header>.*)", re.DOTALL)
_OURS = {name.casefold(): name for name in COLUMN_KINDS}


def _ours(column: str, mapping: dict) -> str | None:
    """Our name of the column a stored problem names (the Trust's header, through its mapping)."""
    key = (column or "").strip().casefold()
    for our_name, theirs in (mapping or {}).items():
        if isinstance(theirs, str) and theirs.strip().casefold() == key:
            return our_name
    return _OURS.get(key)


def rewritten(problem: dict, mapping: dict | None = None) -> dict | None:
    """``problem`` (as stored) with what the rule would not quote taken out, or None when it
    may stand as it is."""
    message = problem.get("message") or ""
    if problem.get("code") == "unrecognised_code" and (m := _OLD_UNRECOGNISED.fullmatch(message)):
        ours = _ours(problem.get("column", ""), mapping or {})
        lists = (FLAG,) if ours and COLUMN_KINDS[ours] is ColumnKind.FLAG else COLUMN_CODE_LISTS.get(ours or "", ())
        value = m["value"]
        if not value.endswith("…") and any(may_quote(c, value) for c in lists):
            return None
        code_list = lists[0] if len(lists) == 1 else None
        return {**problem, "message": unrecognised_message(m["name"], code_list, value, quote=False)}
    if problem.get("code") == "duplicate_column" and (m := _OLD_DUPLICATE.fullmatch(message)):
        readable = {name.casefold() for name in COLUMN_KINDS}
        readable |= {h.strip().casefold() for h in (mapping or {}).values() if isinstance(h, str)}
        if m["header"].strip().casefold() in readable:
            return None
        return {**problem, "message": f"{m['file']} has more than one column with the same name (not shown)", "column": ""}
    return None


def rewrite_stored_problems() -> tuple[int, int]:
    """Rewrite every stored extract's problems under the rule; one audit entry per extract
    changed, in the same transaction. Returns (extracts changed, problems rewritten)."""
    extracts = problems = 0
    rows = Extract.objects.order_by("pk").values_list("pk", "column_mapping__columns")
    for pk, mapping in rows.iterator():
        with transaction.atomic():
            # Only the columns it needs: a migration runs this on a database whose later
            # migrations (new fields elsewhere) may not have been applied yet.
            extract = Extract.objects.select_for_update().only("pk", "problems", "programme_id").get(pk=pk)
            new, changed = [], 0
            for problem in extract.problems:
                fixed = rewritten(problem, mapping) if isinstance(problem, dict) else None
                new.append(fixed or problem)
                changed += fixed is not None
            if not changed:
                continue
            Extract.objects.filter(pk=pk).update(problems=new)
            programme = Programme.objects.only("pk", "phase").get(pk=extract.programme_id)
            record_event(Event.CHANGE, target=extract, programme=programme, action=1,
                         reason=f"stored import problems rewritten so that none quotes a value from the file: {changed}")
        extracts, problems = extracts + 1, problems + changed
    return extracts, problems
