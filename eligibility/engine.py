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

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q, QuerySet

from eligibility.extract import codes
from eligibility.extract.codes import CodeList, Position
from eligibility.models import CareEpisode, LegalStatus, Proposal, RuleSet, Woman
from eligibility.rules import Signal
from pseudonymisation.encryption import binding
from pseudonymisation.fields import Protector
from sharing.models import Programme

LS, REC = str(CodeList.LEGAL_STATUS), str(CodeList.EPISODE_CEASED)
COUNTED, REVIEW, NOT_COUNTED = str(Position.COUNTED), str(Position.REVIEW), str(Position.NOT_COUNTED)
EXPLANATION_MAX = 1000

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


@dataclass(frozen=True, slots=True)
class Event:
    code_list: str  # LS or REC
    code: str
    date: date | None  # LS: start date; REC: ceased date
    end: date | None  # LS only: the end date
    child: int  # Child pk
    extract: int  # the extract it came from (last written by)
    position: str
    in_window: bool

    def as_evidence(self) -> dict:
        return {"list": self.code_list, "code": self.code, "date": _iso(self.date), "end": _iso(self.end),
                "child": self.child, "extract": self.extract, "position": self.position,
                "in_window": self.in_window}

    def read(self) -> str:
        return f"{describe(self.code_list, self.code)} {_iso(self.date) or 'undated'} ({self.code})"


@dataclass(slots=True)
class WomanEvaluation:
    """Everything the rules found about one woman, and what they propose."""

    woman_id: int
    reference_date: date
    window_start: date
    age: int | None
    old_enough: bool | None  # None: her date of birth is not known
    died_on: date | None
    events: list[Event]
    children_removed: list[int]  # child pks, each once
    children_for_review: list[int]  # not also removed
    last_removal: date | None
    signals: dict[str, str]  # signal -> its date
    proposal: Proposal = Proposal.NOT_PROPOSED
    explanation: str = ""
    evidence: dict = field(default_factory=dict)
    digest: str = ""


@dataclass(frozen=True)
class CompiledRules:
    rule_set: RuleSet
    positions: dict[tuple[str, str], str]
    threshold: int
    signals: frozenset[str]
    open_codes: frozenset[str]
    years: int
    minimum_age: int

    @classmethod
    def of(cls, rule_set: RuleSet) -> CompiledRules:
        return cls(
            rule_set=rule_set,
            positions={(cl, code): p for cl, by_code in rule_set.positions.items() for code, p in by_code.items()},
            threshold=rule_set.eligible_threshold,
            signals=frozenset(rule_set.at_risk_signals),
            open_codes=frozenset(rule_set.open_proceedings_codes),
            years=rule_set.look_back_years,
            minimum_age=rule_set.minimum_age,
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
) -> list[WomanEvaluation]:
    """Evaluate the programme's women (or those of `women`) on the reference date, in pk order.
    Three queries whatever their number."""
    rules = CompiledRules.of(rule_set)
    start = window_start(reference_date, rules.years)
    protector = protector or Protector.load(programme.pk, Woman.key_phase)
    chosen = Woman.objects.filter(programme=programme)
    of_children = Q(child__programme=programme)
    if women is not None:
        chosen = chosen.filter(pk__in=women.values("pk"))
        of_children &= Q(child__mother__in=women.values("pk"))

    events: dict[int, list[Event]] = defaultdict(list)
    positions, open_codes = rules.positions, rules.open_codes
    open_since: dict[int, Event] = {}
    ls_rows = LegalStatus.objects.filter(of_children).order_by().values_list(
        "child__mother_id", "child_id", "code", "start_date", "end_date", "extract_id")
    for mother, child, code, started, ended, extract in ls_rows.iterator(chunk_size=20000):
        event = Event(LS, code, started, ended, child, extract, positions.get((LS, code), REVIEW),
                      started is not None and start <= started <= reference_date)
        events[mother].append(event)
        if code in open_codes and ended is None and started is not None and started <= reference_date:
            if mother not in open_since or started > open_since[mother].date:
                open_since[mother] = event
    rec_rows = CareEpisode.objects.filter(of_children).exclude(ceased_reason="").order_by().values_list(
        "child__mother_id", "child_id", "ceased_reason", "ceased_date", "extract_id")
    for mother, child, code, ceased, extract in rec_rows.iterator(chunk_size=20000):
        events[mother].append(Event(REC, code, ceased, None, child, extract, positions.get((REC, code), REVIEW),
                                    ceased is not None and start <= ceased <= reference_date))

    label, decrypt = Woman._meta.label_lower, protector.cipher.decrypt
    out = []
    rows = chosen.order_by("pk").values_list("pk", "row_uid", "date_of_birth", "expected_child_due", "died_on")
    for pk, row_uid, dob_ciphertext, due, died in rows.iterator(chunk_size=5000):
        born = None
        if dob_ciphertext is not None:
            born = date.fromisoformat(decrypt(dob_ciphertext, binding(label, "date_of_birth", str(row_uid))))
        out.append(_evaluate_one(rules, pk, reference_date, start, born, due, died, events.get(pk, []),
                                 open_since.get(pk)))
    return out


def _evaluate_one(rules: CompiledRules, pk: int, ref: date, start: date, born: date | None, due: date | None,
                  died: date | None, events: list[Event], open_event: Event | None) -> WomanEvaluation:
    events.sort(key=lambda e: (e.date or date.min, e.child, e.code_list, e.code))
    removed: dict[int, Event] = {}  # child -> its latest counting event in the window
    review: dict[int, Event] = {}
    for e in events:
        if e.position == COUNTED and e.in_window:
            removed[e.child] = e
        elif e.position != NOT_COUNTED and (e.in_window or e.date is None):
            review[e.child] = e  # an undated event cannot be placed in the window: a person looks
    for child in removed:
        review.pop(child, None)
    signals = {}
    if Signal.PREGNANCY in rules.signals and due is not None and due > ref:
        signals[str(Signal.PREGNANCY)] = due.isoformat()
    if Signal.OPEN_PROCEEDINGS in rules.signals and open_event is not None:
        signals[str(Signal.OPEN_PROCEEDINGS)] = open_event.date.isoformat()
    age = age_on(born, ref) if born is not None else None
    old_enough = None if age is None else age >= rules.minimum_age
    n, r = len(removed), len(review)

    proposal = rules.classify(n, bool(signals))
    if proposal is None:
        proposal = Proposal.NEEDS_REVIEW if rules.classify(n + r, bool(signals)) else Proposal.NOT_PROPOSED
    parts = [_removed_text(removed, rules.years, ref)]
    if review:
        parts.append("For review: " + "; ".join(e.read() for e in sorted(review.values(), key=_by_date)))
    if Signal.PREGNANCY in signals:
        parts.append(f"Pregnant: due {signals[Signal.PREGNANCY]}")
    if open_event is not None and Signal.OPEN_PROCEEDINGS in signals:
        parts.append(f"Open proceedings: {describe(LS, open_event.code)} since {signals[Signal.OPEN_PROCEEDINGS]} "
                     f"({open_event.code})")
    if died is not None and died <= ref:
        proposal = Proposal.NOT_PROPOSED
        parts.append(f"Died {died.isoformat()}")
    elif proposal != Proposal.NOT_PROPOSED and old_enough is None:
        proposal = Proposal.NEEDS_REVIEW
        parts.append("Date of birth not known: check her age")
    elif proposal != Proposal.NOT_PROPOSED and not old_enough:
        proposal = Proposal.NOT_PROPOSED
        parts.append(f"Aged {age} on {ref.isoformat()}: under {rules.minimum_age}")
    explanation = ". ".join(parts)
    if len(explanation) > EXPLANATION_MAX:
        explanation = explanation[: EXPLANATION_MAX - 1] + "…"

    result = WomanEvaluation(
        woman_id=pk, reference_date=ref, window_start=start, age=age, old_enough=old_enough, died_on=died,
        events=events, children_removed=sorted(removed), children_for_review=sorted(review),
        last_removal=max((e.date for e in removed.values()), default=None), signals=signals,
        proposal=proposal, explanation=explanation,
    )
    decisive = {
        "events": [(e.code_list, e.code, _iso(e.date), _iso(e.end), e.child, e.position, e.in_window) for e in events],
        "removed": result.children_removed, "review": result.children_for_review,
        "last_removal": _iso(result.last_removal), "signals": signals, "old_enough": old_enough,
        "died_on": _iso(died), "proposal": str(proposal),
    }
    result.digest = hashlib.sha256(json.dumps(decisive, separators=(",", ":")).encode()).hexdigest()
    result.evidence = {
        "reference_date": ref.isoformat(), "window_start": start.isoformat(), "rule_set_version": rules.rule_set.version,
        "age": age, "minimum_age": rules.minimum_age, "died_on": _iso(died),
        "events": [e.as_evidence() for e in events],
        "children_removed": result.children_removed, "children_for_review": result.children_for_review,
        "last_removal": _iso(result.last_removal), "signals": signals,
    }
    return result


def _removed_text(removed: dict[int, Event], years: int, ref: date) -> str:
    if not removed:
        return f"No child removed in the {years} years to {ref.isoformat()}"
    n = len(removed)
    listed = "; ".join(e.read() for e in sorted(removed.values(), key=_by_date))
    return f"{n} {'child' if n == 1 else 'children'} removed: {listed}"


def _by_date(e: Event):
    return (e.date or date.min, e.child)


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None
