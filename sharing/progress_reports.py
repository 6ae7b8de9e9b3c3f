"""Quarterly progress reports from the Pause lead to the Trust, and to the Council where the
agreement names one (issue 7, point 6; ADR 15): counts of women contacted, engaged, declined and
withdrawn, by calendar quarter, with small-number suppression that stays consistent across every
report sent (`sharing.progress_suppression`).

The measures, for a quarter (distinct released women of the programme, from their contact
attempts, by the date of contact):
- contacted: at least one contact attempt dated in the quarter, whatever came of it;
- engaged: an attempt in the quarter whose outcome was that she agreed to take part;
- declined: an attempt in the quarter whose outcome was that she declined;
- withdrawn: an attempt in the quarter whose outcome was that she withdrew.

A draft is made for a quarter that has ended and comes after the last report sent; it restates
the quarters already sent exactly as first shown and adds the new ones. Sending re-makes the
figures and refuses (updating the draft) if they moved since the Pause lead looked. A sent report
never changes: its SHA-256 is taken over its canonical JSON. Every step is audited; the audit
entry carries the quarter and the recipients' count, never the figures or the commentary.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.tenancy.models import Person, Phase, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in
from sharing.models_delivery import (
    ContactAttempt,
    DeliveryRelease,
    Participation,
    QuarterlyReport,
    QuarterlyReportStatus,
)
from sharing.progress_suppression import (
    CONTACTED,
    DECLINED,
    ENGAGED,
    HIDDEN_MARKS,
    MEASURES,
    THRESHOLD,
    WITHDRAWN,
    CannotProtect,
    Quarter,
    protect,
)
from sharing.scoping_term import current_agreement

COMMENTARY_MAX = 5000
MEASURE_LABELS = {
    CONTACTED: "Women contacted (an attempt made, whether or not she was reached)",
    ENGAGED: "Women who agreed to take part",
    DECLINED: "Women who declined",
    WITHDRAWN: "Women who withdrew",
}
OUTCOME_MEASURE = {Participation.AGREED: ENGAGED, Participation.DECLINED: DECLINED,
                   Participation.WITHDREW: WITHDRAWN}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


# --- quarters --------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class QuarterOf:
    year: int
    quarter: int

    @classmethod
    def containing(cls, day: date) -> QuarterOf:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, key: str) -> QuarterOf:
        match = re.fullmatch(r"(\d{4})Q([1-4])", key or "")
        if not match:
            raise ValidationError("Choose a quarter from the list")
        return cls(int(match[1]), int(match[2]))

    @property
    def key(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.quarter - 2, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    @property
    def label(self) -> str:
        return f"{MONTHS[3 * self.quarter - 3]} to {MONTHS[3 * self.quarter - 1]} {self.year}"

    def next(self) -> QuarterOf:
        return QuarterOf(self.year + 1, 1) if self.quarter == 4 else QuarterOf(self.year, self.quarter + 1)

    def through(self, last: QuarterOf) -> list[QuarterOf]:
        out, q = [], self
        while q <= last:
            out.append(q)
            q = q.next()
        return out


def quarter_of(report: QuarterlyReport) -> QuarterOf:
    return QuarterOf(report.year, report.quarter)


def first_quarter(programme: Programme) -> QuarterOf | None:
    """The quarter of the programme's first delivery release (reports start there)."""
    first = DeliveryRelease.objects.filter(programme=programme).order_by("released_at").first()
    return QuarterOf.containing(timezone.localdate(first.released_at)) if first else None


def last_sent(programme: Programme) -> QuarterlyReport | None:
    return (QuarterlyReport.objects.filter(programme=programme, status=QuarterlyReportStatus.SENT)
            .order_by("-year", "-quarter").first())


def reportable_quarters(programme: Programme, today: date | None = None) -> list[QuarterOf]:
    """Quarters a report can be drafted for now: ended, from the first release, after the last sent."""
    first = first_quarter(programme)
    if first is None:
        return []
    today = today or timezone.localdate()
    sent = last_sent(programme)
    start = max(first, quarter_of(sent).next()) if sent else first
    return [q for q in start.through(QuarterOf.containing(today)) if q.end < today]


# --- the counts --------------------------------------------------------------------------------------
def count_by_quarter(attempts, quarters: list[QuarterOf]) -> dict[str, dict[str, int]]:
    """Per quarter key, each measure's count of distinct women, from (woman id, date of contact,
    outcome) triples."""
    women: dict[str, dict[str, set]] = {q.key: {m: set() for m in MEASURES} for q in quarters}
    for woman, contacted_on, outcome in attempts:
        sets = women.get(QuarterOf.containing(contacted_on).key)
        if sets is None:
            continue
        sets[CONTACTED].add(woman)
        if outcome in OUTCOME_MEASURE:
            sets[OUTCOME_MEASURE[outcome]].add(woman)
    return {key: {m: len(s) for m, s in sets.items()} for key, sets in women.items()}


def released_by(programme: Programme, quarters: list[QuarterOf]) -> dict[str, int]:
    """How many women had been released to Pause by each quarter's end (the releases' own counts,
    which retention never deletes: the Trust knows these numbers)."""
    releases = [(timezone.localdate(at), n) for at, n in
                DeliveryRelease.objects.filter(programme=programme).values_list("released_at", "women_count")]
    return {q.key: sum(n for day, n in releases if day <= q.end) for q in quarters}


def frozen_columns(programme: Programme) -> list[Quarter]:
    """The quarters already sent, as first shown (every sent report agrees: checked)."""
    columns: dict[str, Quarter] = {}
    for report in QuarterlyReport.objects.filter(programme=programme, status=QuarterlyReportStatus.SENT):
        for column in report.figures.get("quarters", []):
            quarter = Quarter(column["key"], column["released"],
                              {m: report.figures["cells"][m][column["key"]] for m in MEASURES})
            if columns.setdefault(column["key"], quarter) != quarter:
                raise ValidationError("Two reports already sent disagree about a quarter: the reports need checking "
                                      "before another is sent.")
    return [columns[k] for k in sorted(columns, key=lambda k: QuarterOf.parse(k))]


def make_figures(programme: Programme, up_to: QuarterOf) -> tuple[dict, list]:
    """The report's table for the quarters from the first release to `up_to`: the sent quarters
    as first shown, the new ones counted now and protected. Returns (figures, suppressed)."""
    first = first_quarter(programme)
    if first is None or up_to < first:
        raise ValidationError("Nothing had been released to Pause by the end of that quarter.")
    frozen = [c for c in frozen_columns(programme) if QuarterOf.parse(c.key) <= up_to]
    done = {c.key for c in frozen}
    new = [q for q in first.through(up_to) if q.key not in done]
    attempts = (ContactAttempt.objects.filter(programme=programme, contacted_on__gte=new[0].start,
                                              contacted_on__lte=new[-1].end)
                .values_list("released_woman_id", "contacted_on", "outcome")) if new else []
    counts = count_by_quarter(attempts, new)
    released = released_by(programme, new)
    try:
        made = protect(frozen, [(q.key, released[q.key], counts[q.key]) for q in new])
    except CannotProtect as exc:
        raise ValidationError(f"These figures cannot be reported safely: {exc} Ask for the records to be checked.") \
            from exc
    columns = [*frozen, *made.columns]
    figures = {
        "threshold": THRESHOLD,
        "quarters": [{"key": c.key, "label": QuarterOf.parse(c.key).label, "released": c.released,
                      "first_shown": "earlier report" if c.key in done else "this report"} for c in columns],
        "cells": {m: {c.key: c.shown[m] for c in columns} for m in MEASURES},
        "notes": made.notes,
    }
    suppressed = [{"measure": m, "quarter": c.key, "shown": c.shown[m]}
                  for c in columns for m in MEASURES if c.shown[m] in HIDDEN_MARKS]
    return figures, suppressed


# --- recipients ----------------------------------------------------------------------------------
def recipients(programme: Programme) -> list[str]:
    """Who the report goes to: the Trust, always; and every party of the current agreement whose
    name contains the word "Council" (the parties are written one to a line or separated by
    semicolons, each as "Name (role)")."""
    names = [programme.trust.name]
    agreement = current_agreement(programme)
    for party in re.split(r"[;\n]+", agreement.parties if agreement else ""):
        name = re.sub(r"\s*\(.*?\)\s*$", "", party).strip(" .,")
        if re.search(r"\bcouncil\b", name, re.IGNORECASE) and name not in names:
            names.append(name)
    return names


# --- the commentary: aggregate words only ----------------------------------------------------------
NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
                "single", "couple", "handful", "dozen")


def commentary_problem(text: str) -> str | None:
    """Why the commentary cannot be sent, if it cannot: figures belong in the checked table, and
    nothing that could point to a person (dates, postcodes, NHS numbers, tokens) belongs anywhere."""
    if len(text) > COMMENTARY_MAX:
        return f"The commentary must be {COMMENTARY_MAX} characters or fewer"
    without_allowed = re.sub(r"\b(?:19|20)\d\d\b|\bQ[1-4]\b|\bno one\b|\bon one\b", " ", text, flags=re.IGNORECASE)
    if re.search(r"\d", without_allowed):
        return ("Write the commentary without figures (years and quarter names like Q1 are fine): the numbers "
                "belong in the table, where small ones are suppressed")
    word = re.search(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", without_allowed, re.IGNORECASE)
    if word:
        return (f"Write the commentary without numbers in words (\u201c{word[1]}\u201d): the numbers belong in the "
                "table, where small ones are suppressed")
    return None


# --- actions ---------------------------------------------------------------------------------------
def _lead_role(person: Person, programme: Programme) -> str:
    membership = membership_in(person, programme.pk)
    if membership is None or not role_has(membership.role, Perm.WRITE_PAUSE_REPORTS):
        raise PermissionDenied("Only the programme's Pause lead writes its progress reports.")
    if programme.phase != Phase.DELIVERY:
        raise PermissionDenied("Progress reports are written during delivery.")
    return membership.role


def save_draft(programme: Programme, *, by: Person, quarter: QuarterOf, commentary: str = "") -> QuarterlyReport:
    """Make (or re-make) the draft for `quarter`: figures counted now, sent quarters as first shown."""
    role = _lead_role(by, programme)
    commentary = (commentary or "").strip()
    problem = commentary_problem(commentary)
    if problem:
        raise ValidationError({"commentary": problem})
    with transaction.atomic():
        Programme.objects.select_for_update().get(pk=programme.pk)  # one report made at a time
        if quarter not in reportable_quarters(programme):
            raise ValidationError({"quarter": "Choose a quarter that has ended and comes after the last report sent"})
        figures, suppressed = make_figures(programme, quarter)
        report = (QuarterlyReport.objects.filter(programme=programme, year=quarter.year, quarter=quarter.quarter,
                                                 status=QuarterlyReportStatus.DRAFT).first()
                  or QuarterlyReport(programme=programme, year=quarter.year, quarter=quarter.quarter, written_by=by))
        report.figures, report.suppressed, report.recipients = figures, suppressed, recipients(programme)
        report.commentary, report.written_by, report.written_at = commentary, by, timezone.now()
        report.save()
        record_event(Event.CHANGE, actor=by, target=report, programme=programme, role=role, action=1,
                     reason=f"progress report draft for {quarter.key} made ({len(suppressed)} cells hidden)")
    return report


def canonical_json(report: QuarterlyReport) -> bytes:
    """What the digest is taken over: everything the recipients are sent, in a fixed form."""
    content = {
        "programme": report.programme_id, "year": report.year, "quarter": report.quarter,
        "figures": report.figures, "suppressed": report.suppressed, "recipients": report.recipients,
        "commentary": report.commentary, "sent_at": report.sent_at.isoformat() if report.sent_at else None,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(report: QuarterlyReport) -> str:
    return hashlib.sha256(canonical_json(report)).hexdigest()


class FiguresMoved(ValidationError):
    """The figures changed between the preview and sending; the draft now shows the new ones."""


def send(report: QuarterlyReport, *, by: Person) -> QuarterlyReport:
    """Send the draft to its recipients: re-make its figures first, and refuse (after updating the
    draft) if they moved since it was made. A sent report is never changed."""
    programme = report.programme
    role = _lead_role(by, programme)
    moved = False
    with transaction.atomic():
        Programme.objects.select_for_update().get(pk=programme.pk)
        locked = QuarterlyReport.objects.select_for_update().select_related("programme").get(pk=report.pk)
        if locked.status != QuarterlyReportStatus.DRAFT:
            raise ValidationError("This report has been sent: a sent report never changes.")
        if quarter_of(locked) not in reportable_quarters(programme):
            raise ValidationError("A report for this or a later quarter has already been sent: make a draft for "
                                  "a later quarter instead.")
        figures, suppressed = make_figures(programme, quarter_of(locked))
        names = recipients(programme)
        if (figures, suppressed, names) != (locked.figures, locked.suppressed, locked.recipients):
            locked.figures, locked.suppressed, locked.recipients = figures, suppressed, names
            locked.written_at = timezone.now()
            locked.save(update_fields=["figures", "suppressed", "recipients", "written_at"])
            record_event(Event.CHANGE, actor=by, target=locked, programme=programme, role=role, action=1,
                         reason=f"progress report draft for {quarter_of(locked).key} re-made before sending "
                                "(its figures had moved)")
            moved = True
        else:
            locked.status, locked.sent_at = QuarterlyReportStatus.SENT, timezone.now()
            locked.sha256 = digest(locked)
            locked.save(update_fields=["status", "sent_at", "sha256"])
            record_event(Event.CHANGE, actor=by, target=locked, programme=programme, role=role, action=1,
                         reason=f"progress report for {quarter_of(locked).key} sent to {len(names)} recipient(s); "
                                f"sha256 {locked.sha256[:16]}")
    if moved:
        raise FiguresMoved("The figures changed after the draft was made (new records, or another report was "
                           "sent). The draft now shows the current figures: check them, then send it.")
    return locked

