"""The rules engine: for each woman, on a reference date, her children's counting, review and
other events, the children removed within the window, her age, the at-risk signals — and a
proposal with a one-line explanation a caseworker can check against the case system.

Set-based: three reads (the women, their children's legal statuses, their children's care
episodes), whatever the number of women; dates of birth are decrypted in Python in the same
single pass. The rules (`RuleSet`) are the specification's "What counts as a removal", "Dates"
and "Proposals": a legal status is dated by its start date, an episode by its ceased date; a
child counts once however many of its events count; the window runs from the reference date
minus N years (29 February becoming 28 February) to the reference date, both inclusive; a woman
qualifies from her Nth birthday inclusive. The engine only proposes: a person decides.
"""

from __future__ import annotations

import gc
import hashlib
import marshal
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache, partial
from operator import itemgetter

from django.db import connection
from django.db.models import QuerySet

from eligibility.engine_sql import events_sql, women_sql
from eligibility.extract import codes
from eligibility.extract.codes import CodeList, Position
from eligibility.forked import Forked, can_fork
from eligibility.models import Proposal, RuleSet, Woman
from eligibility.rules import Signal
from pause_portal.tenancy.models import Programme
from pseudonymisation.encryption import binding
from pseudonymisation.fields import Protector

LS, REC = str(CodeList.LEGAL_STATUS), str(CodeList.EPISODE_CEASED)
COUNTED, REVIEW, NOT_COUNTED = str(Position.COUNTED), str(Position.REVIEW), str(Position.NOT_COUNTED)
EXPLANATION_MAX = 1000
PREGNANCY, OPEN_PROCEEDINGS = str(Signal.PREGNANCY), str(Signal.OPEN_PROCEEDINGS)  # as the evidence names them

# How an event reads in an explanation: the code's meaning, shortened where the DfE's is long.
SHORT_MEANING = {
    (LS, "C1"): "interim care order",
    (LS, "C2"): "care order",
    (LS, "D1"): "freeing order",
    (LS, "E1"): "placement order",
    (LS, "V2"): "section 20 accommodation",
    (LS, "L2"): "emergency protection order",
    (REC, "E11"): "adopted",
    (REC, "E12"): "adopted",
    (REC, "E13"): "left to live with someone without parental responsibility",
    (REC, "E41"): "child arrangements order",
    **{(REC, c): "special guardianship" for c in ("E43", "E44", "E45", "E46", "E47", "E48")},
}


@cache
def describe(code_list: str, code: str) -> str:
    short = SHORT_MEANING.get((code_list, code))
    if short:
        return short
    meaning = codes.meaning(CodeList(code_list), code)
    return meaning[0].lower() + meaning[1:] if meaning else "unrecognised code"


def window_start(reference_date: date, years: int) -> date:
    """The reference date minus `years` years; 29 February becomes 28 February."""
    try:
        return reference_date.replace(year=reference_date.year - years)
    except ValueError:
        return reference_date.replace(year=reference_date.year - years, day=28)


def age_on(born: date, on: date) -> int:
    """Whole years; someone born on 29 February has a birthday on 1 March in other years."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# An event, as the engine reads it and as the evidence keeps it (JSON-ready, no name or Trust id):
EVENT_FIELDS = ("list", "code", "date", "end", "child", "position", "in_window", "extract")
LIST, CODE, DATE, END, CHILD, POSITION, IN_WINDOW, EXTRACT = range(len(EVENT_FIELDS))
# list: LS or REC; date: an LS start date or an episode's ceased date (ISO text, or None); end: an LS
# end date; child: a Child pk; position: the code's, under the rule set; in_window: 1 or 0;
# extract: the extract that last wrote the row (an import rewrites a row, and so its extract, only
# where a value differs: ADR 9).


def _in_order(event: tuple) -> tuple:
    """By date (undated first), child, code list, code: the evidence's order, the same on every
    database."""
    return event[DATE] or "", event[CHILD], event[LIST], event[CODE]


_IN_ORDER_DATED = itemgetter(DATE, CHILD, LIST, CODE)


def _sorted(events: list[tuple]) -> list[tuple]:
    """In `_in_order`'s order: by a key made in C while every event is dated (an undated one,
    None beside a date, makes that sort refuse, and the Python key sorts the original list)."""
    try:
        return sorted(events, key=_IN_ORDER_DATED)
    except TypeError:
        return sorted(events, key=_in_order)


def digest_of(decisive: tuple) -> str:
    """A stable fingerprint of what a decision rests on. `marshal` format 2 writes str, int, None,
    tuple and list by value alone (no back-references, which format 3 added and which would depend
    on object identity), unchanged since Python 2.5; measured at half the cost of `repr`."""
    return hashlib.sha256(marshal.dumps(decisive, 2)).hexdigest()


def read_event(event: tuple) -> str:
    return f"{describe(event[LIST], event[CODE])} {event[DATE] or 'undated'} ({event[CODE]})"


@dataclass(slots=True)
class WomanEvaluation:
    """Everything the rules found about one woman, and what they propose. Dates are ISO text."""

    woman_id: int
    reference_date: date
    age: int | None
    old_enough: bool | None  # None: her date of birth is not known
    events: list[tuple]  # EVENT_FIELDS, by date
    children_removed: list[int]  # child pks, each once
    children_for_review: list[int]  # not also removed
    last_removal: str | None
    signals: dict[str, str]  # signal -> its date
    proposal: Proposal
    explanation: str
    evidence: dict
    digest: str  # of what the decision rests on


@dataclass(frozen=True)
class CompiledRules:
    rule_set: RuleSet
    threshold: int
    signals: frozenset[str]
    open_codes: frozenset[str]
    years: int
    minimum_age: int
    version: int
    pregnancy: bool  # whether each signal is one of the rule set's
    open_proceedings: bool

    @classmethod
    def of(cls, rule_set: RuleSet) -> CompiledRules:
        signals = frozenset(rule_set.at_risk_signals)
        return cls(
            rule_set=rule_set,
            threshold=rule_set.eligible_threshold,
            signals=signals,
            open_codes=frozenset(rule_set.open_proceedings_codes),
            years=rule_set.look_back_years,
            minimum_age=rule_set.minimum_age,
            version=rule_set.version,
            pregnancy=Signal.PREGNANCY in signals,
            open_proceedings=Signal.OPEN_PROCEEDINGS in signals,
        )

    def classify(self, removed: int, signalled: bool) -> Proposal | None:
        if removed >= self.threshold:
            return Proposal.ELIGIBLE
        if removed >= 1 and removed == self.threshold - 1 and signalled:
            return Proposal.AT_RISK
        return None


def evaluate(
    programme: Programme,
    rule_set: RuleSet,
    reference_date: date,
    *,
    women: QuerySet[Woman] | None = None,
    protector: Protector | None = None,
    processes: int | None = None,
) -> list[WomanEvaluation]:
    """Evaluate the programme's women (or those of `women`) on the reference date, in pk order.
    Two reads whatever their number (and the programme's keys, once).

    `processes`: how many share the work, each with its women's reads (ADR 51). By default two
    for a whole programme of `SPLIT_FROM` women or more on PostgreSQL outside a transaction, one
    otherwise; the evaluations are the same either way."""
    rules = CompiledRules.of(rule_set)
    protector = protector or Protector.load(programme.pk, Woman.key_phase)
    parts = split_women(programme.pk, processes, whole_programme=women is None)
    with _no_cyclic_collection():
        if len(parts) == 1:
            return _evaluate(programme.pk, rules, reference_date, women, protector, None)
        work = partial(_evaluated_part, programme.pk, rules, reference_date, protector)
        received: list[list] = [[] for _ in parts]
        with Forked(work, parts[1:]) as forked:
            out = _evaluate(programme.pk, rules, reference_date, None, protector, parts[0])
            for i, chunk in forked.results():
                received[i + 1].extend(chunk)
        for part in received[1:]:
            out.extend(_from_sent(part, reference_date))
        return out


SPLIT_FROM = 5000  # women: below this a second process costs more than it saves (ADR 51)
ALL_PKS = (-(2**63), 2**63 - 1)


def split_women(programme_id: int, processes: int | None, *, whole_programme: bool = True) -> list[tuple[int, int] | None]:
    """The programme's women in `processes` ranges of pks ([low, high)) of about as many women each,
    or [None] (one process, all of them). `processes=None`: two where they pay (see `evaluate`).
    Asking for more than one where a child could not read what the parent sees (SQLite, or inside
    a transaction) is refused."""
    if processes is None:
        processes = 2 if (whole_programme and connection.vendor == "postgresql" and not connection.in_atomic_block
                          and can_fork() and _count(programme_id) >= SPLIT_FROM) else 1
    if processes < 1:
        raise ValueError("At least one process evaluates the women.")
    if processes == 1:
        return [None]
    if not whole_programme:
        raise ValueError("Only a whole programme's evaluation is split across processes.")
    if connection.vendor != "postgresql" or connection.in_atomic_block or not can_fork():
        raise ValueError("The rules use more than one process only on PostgreSQL and outside a transaction: a "
                         "forked process reads what is committed, on a connection of its own.")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT percentile_disc(%s) WITHIN GROUP (ORDER BY id) FROM {Woman._meta.db_table} "  # noqa: S608
            "WHERE programme_id = %s",
            [[i / processes for i in range(1, processes)], programme_id],
        )
        [bounds] = cursor.fetchone()
    edges = [ALL_PKS[0], *(bounds or []), ALL_PKS[1]]
    return [(low, high) for low, high in zip(edges, edges[1:], strict=False)]


def _count(programme_id: int) -> int:
    return Woman.objects.filter(programme_id=programme_id).count()


def _evaluate(programme_id: int, rules: CompiledRules, reference_date: date, women: QuerySet[Woman] | None,
              protector: Protector, pks: tuple[int, int] | None) -> list[WomanEvaluation]:
    return list(evaluations(programme_id, rules, reference_date, protector, women=women, pks=pks))


def evaluations(programme_id: int, rules: CompiledRules, reference_date: date, protector: Protector, *,
                women: QuerySet[Woman] | None = None, pks: tuple[int, int] | None = None) -> Iterator[WomanEvaluation]:
    """The women's evaluations one by one, in pk order, once the two reads are done; `pks`: only
    the women whose pk is in [pks[0], pks[1]) (one process's part, ADR 51)."""
    start = window_start(reference_date, rules.years)
    decrypt, ref, window = protector.cipher.decrypt, reference_date.isoformat(), start.isoformat()
    aad = binding(Woman._meta.label_lower, "date_of_birth", "")  # her row uid follows
    with connection.cursor() as cursor:
        cursor.execute(*events_sql(rules.rule_set, start, reference_date, programme_id, women, pks))
        events: dict[int, list[tuple]] = defaultdict(list)
        for row in cursor.fetchall():
            events[row[0]].append(row[1:])
        for pk, woman_events in events.items():
            events[pk] = _sorted(woman_events)
        cursor.execute(*women_sql(connection.vendor, programme_id, women, pks))
        rows = cursor.fetchall()
    for pk, row_uid, dob_ciphertext, due, died in rows:
        born = None if dob_ciphertext is None else date.fromisoformat(decrypt(dob_ciphertext, aad + row_uid.encode()))
        yield _evaluate_one(rules, pk, reference_date, ref, window, born, due, died, events.get(pk, []))


SENT_CHUNK = 4000  # evaluations a message from a forked process


def _evaluated_part(programme_id: int, rules: CompiledRules, reference_date: date, protector: Protector,
                    pks: tuple[int, int]):
    """In a forked process: one part's evaluations, as `marshal` sends them (`_from_sent`)."""
    gc.disable()  # as `_no_cyclic_collection`; the process ends with its work
    results = _evaluate(programme_id, rules, reference_date, None, protector, pks)
    for i in range(0, len(results), SENT_CHUNK):
        yield [(r.woman_id, r.age, r.old_enough, r.proposal.value, r.explanation, r.digest, r.evidence)
               for r in results[i: i + SENT_CHUNK]]


_PROPOSALS = {p.value: p for p in Proposal}


def _from_sent(sent: list[tuple], reference_date: date) -> list[WomanEvaluation]:
    """The evaluations a forked process made, as it made them: the evidence (its events, lists and
    signals) is the same values in the same containers, tuples staying tuples."""
    return [
        WomanEvaluation(
            woman_id=pk, reference_date=reference_date, age=age, old_enough=old_enough, events=evidence["events"],
            children_removed=evidence["children_removed"], children_for_review=evidence["children_for_review"],
            last_removal=evidence["last_removal"], signals=evidence["signals"], proposal=_PROPOSALS[proposal],
            explanation=explanation, evidence=evidence, digest=digest,
        )
        for pk, age, old_enough, proposal, explanation, digest, evidence in sent
    ]


@contextmanager
def _no_cyclic_collection():
    """Pause the cyclic garbage collector while the evaluations are built. They make no cycles,
    but their containers (a tuple an event, a few a woman) set it off hundreds of times, each pass
    walking everything alive: measured at a fifth of the engine's time on 26k women."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _evaluate_one(rules: CompiledRules, pk: int, reference_date: date, ref: str, window: str, born: date | None,
                  due: str | None, died: str | None, events: list[tuple]) -> WomanEvaluation:
    removed: dict[int, tuple] = {}  # child -> its latest counting event in the window
    review: dict[int, tuple] = {}
    open_event = last_removal = None
    open_codes = rules.open_codes
    for e in events:  # by date
        position = e[POSITION]
        if position == COUNTED and e[IN_WINDOW]:
            removed[e[CHILD]] = e
            last_removal = e[DATE]  # the latest: events come by date, and one in the window is dated
        elif position != NOT_COUNTED and (e[IN_WINDOW] or e[DATE] is None):
            review[e[CHILD]] = e  # an undated event cannot be placed in the window: a person looks
        if e[CODE] in open_codes and e[LIST] == LS and e[END] is None and e[DATE] is not None and e[DATE] <= ref:
            open_event = e  # the latest
    for child in removed:
        review.pop(child, None)
    signals = {}
    if rules.pregnancy and due is not None and due > ref:
        signals[PREGNANCY] = due
    if rules.open_proceedings and open_event is not None:
        signals[OPEN_PROCEEDINGS] = open_event[DATE]
    age = age_on(born, reference_date) if born is not None else None
    old_enough = None if age is None else age >= rules.minimum_age
    n, r = len(removed), len(review)

    proposal = rules.classify(n, bool(signals))
    if proposal is None:
        proposal = Proposal.NEEDS_REVIEW if rules.classify(n + r, bool(signals)) else Proposal.NOT_PROPOSED
    parts = [_removed_text(removed, rules.years, ref)]
    if review:
        parts.append("For review: " + "; ".join(read_event(e) for e in review.values()))
    if PREGNANCY in signals:
        parts.append(f"Pregnant: due {due}")
    if OPEN_PROCEEDINGS in signals:
        parts.append(f"Open proceedings: {describe(LS, open_event[CODE])} since {open_event[DATE]} "
                     f"({open_event[CODE]})")
    if died is not None and died <= ref:
        proposal = Proposal.NOT_PROPOSED
        parts.append(f"Died {died}")
    elif proposal != Proposal.NOT_PROPOSED and old_enough is None:
        proposal = Proposal.NEEDS_REVIEW
        parts.append("Date of birth not known: check her age")
    elif proposal != Proposal.NOT_PROPOSED and not old_enough:
        proposal = Proposal.NOT_PROPOSED
        parts.append(f"Aged {age} on {ref}: under {rules.minimum_age}")
    explanation = ". ".join(parts)
    if len(explanation) > EXPLANATION_MAX:
        explanation = explanation[: EXPLANATION_MAX - 1] + "…"

    children_removed, children_for_review = sorted(removed), sorted(review)
    decisive = (proposal.value, old_enough, died, sorted(signals.items()), children_removed, children_for_review,
                events)
    digest = digest_of(decisive)
    evidence = {
        "reference_date": ref, "window_start": window, "rule_set_version": rules.version,
        "age": age, "minimum_age": rules.minimum_age, "died_on": died, "event_fields": EVENT_FIELDS,
        "events": events, "children_removed": children_removed, "children_for_review": children_for_review,
        "last_removal": last_removal, "signals": signals,
    }
    return WomanEvaluation(
        woman_id=pk, reference_date=reference_date, age=age, old_enough=old_enough, events=events,
        children_removed=children_removed, children_for_review=children_for_review, last_removal=last_removal,
        signals=signals, proposal=proposal, explanation=explanation, evidence=evidence, digest=digest,
    )


def _removed_text(removed: dict[int, tuple], years: int, ref: str) -> str:
    if not removed:
        return f"No child removed in the {years} years to {ref}"
    n = len(removed)
    listed = "; ".join(read_event(e) for e in sorted(removed.values(), key=_by_date))
    return f"{n} {'child' if n == 1 else 'children'} removed: {listed}"


def _by_date(e: tuple):
    return (e[DATE] or "", e[CHILD])

