"""Synthetic case extracts: a seeded generator of realistic, entirely invented SSD table sets
(and the flat template), for the demo, the tests and the import benchmark.

Everything here is made up. Names come from small invented lists, NHS numbers from the
``999`` range that the NHS never issues (reserved for testing), postcodes from letter pairs that
are no real UK postcode area (``NB``, ``QW``...), ids from counters. No real person's data is
used or resembled on purpose.

Streaming: families (a mother and her children, with their legal statuses, care episodes and
addresses) are made one at a time and written straight to the five CSV files, so memory does not
grow with the size of the extract (a million children take the same few MB as a hundred).
Deterministic: the same ``children``, ``seed`` and ``today`` give byte-identical files.

What an extract of ``children`` children looks like:

- about 0.4 mothers a child: 1 to 6 children each, most 1 to 3; mothers 16 to 45 at each birth;
  a few pregnant (``pers_expected_dob`` after ``today``), half of them with a record for the
  unborn child (no date of birth, an expected one) linked in ``ssd_mother``;
- each mother has a profile (repeat care proceedings, mixed, lower need) that makes her
  children's pathways alike, as in life: no care episode at all; short breaks (V3/V4);
  section 20 accommodation (V2) ending at home (E4A/E4B) or with a relative (E13); police or
  emergency protection (L1/L2) then home; care proceedings (an L1/L2 first now and then, C1,
  C2, a placement order E1, a rare legacy D1) ending in adoption (E11/E12), special
  guardianship (E43/E44 before April 2018, E45-E48 after), a child arrangements order (E41),
  return home, another authority (E3), independent living (E5), other (E8), staying put (E17)
  or still in care; a few youth-justice statuses (J1-J3) and episodes (E9/E14), which the
  import drops; episodes chained by X1 when a legal status or placement changes; every date within the
  last ~15 years of ``today`` and none after it;
- ethnicity about 70% WBRI; NHS numbers with valid check digits for most women, a few
  invalid (a warning) or missing; addresses (``ssd_address``) for most women and some children;
- the features of real SQL Server exports: a UTF-8 byte order mark, CRLF line ends, the
  literal ``NULL`` for missing values, datetimes such as ``2019-03-04 00:00:00.000``, UK dates
  (``04/03/2019``) in the address table, a stray space or lower case in a few codes, a few
  ``??`` placeholders (unrecognised codes: warnings), and columns the portal does not read.

The extract reads with no errors: its only problems are the planted warnings, counted in
``Synthetic.warnings``. ``Synthetic`` also says what the import should make of it (women and
children kept, legal statuses and episodes written), worked out from the same families with
the default code positions, for tests to compare against.

    from eligibility.synthetic import write_ssd, ssd_upload
    stats = write_ssd("/tmp/extract", children=100_000, seed=1, today=date(2026, 1, 1))
    files = ssd_upload(children=300, seed=1, today=date(2026, 1, 1))  # in memory, small only
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO

from eligibility.extract import codes
from eligibility.extract.codes import CodeList, Position, default_position

TABLES = ("ssd_person", "ssd_mother", "ssd_legal_status", "ssd_cla_episodes", "ssd_address")
HEADERS = {
    "ssd_person": (
        "pers_person_id", "pers_legacy_id", "pers_forename", "pers_surname", "pers_sex", "pers_gender",
        "pers_ethnicity", "pers_dob", "pers_expected_dob", "pers_common_child_id", "pers_death_date",
        "pers_is_mother", "pers_upn_unknown",
    ),
    "ssd_mother": ("moth_table_id", "moth_person_id", "moth_childs_person_id", "moth_childs_dob"),
    "ssd_legal_status": (
        "lega_legal_status_id", "lega_person_id", "lega_legal_status", "lega_legal_status_start_date",
        "lega_legal_status_end_date",
    ),
    "ssd_cla_episodes": (
        "clae_cla_episode_id", "clae_person_id", "clae_cla_episode_start_date", "clae_cla_episode_start_reason",
        "clae_cla_primary_need_code", "clae_cla_episode_ceased_date", "clae_cla_episode_ceased_reason",
        "clae_cla_id", "clae_entered_care_date",
    ),
    "ssd_address": (
        "addr_table_id", "addr_person_id", "addr_address_type", "addr_address_postcode", "addr_address_start_date",
        "addr_address_end_date",
    ),
}  # fmt: skip
FLAT_HEADER = (
    "mother_id", "mother_forename", "mother_surname", "mother_dob", "mother_nhs_number", "mother_postcode",
    "mother_ethnicity", "mother_expected_child_dob", "child_id", "child_dob", "child_sex", "event_type", "code",
    "start_date", "end_date",
)  # fmt: skip

# Invented, ordinary-looking names (the surnames are at least five letters, so that a test can
# search raw database text for them without matching inside other words).
WOMEN_FORENAMES = (
    "Amy", "Bethany", "Chloe", "Danielle", "Emma", "Fiona", "Gemma", "Hannah", "Jade", "Kayleigh", "Laura",
    "Megan", "Natalie", "Paige", "Rachel", "Sarah", "Stacey", "Toni", "Vicky", "Zoë", "Siân", "Aisha", "Amina",
    "Priya", "Sadia", "Nadia", "Kerry", "Leanne", "Shannon", "Courtney", "Jodie", "Lauren", "Rebecca", "Holly",
    "Charlotte", "Demi", "Chantelle", "Joanne", "Michelle", "Roisin",
)
GIRLS_FORENAMES = (
    "Ava", "Bella", "Daisy", "Ellie", "Evie", "Freya", "Grace", "Isla", "Lily", "Maisie", "Mia", "Millie", "Poppy",
    "Ruby", "Sophie", "Willow", "Zara", "Maryam", "Niamh", "Esme",
)
BOYS_FORENAMES = (
    "Alfie", "Archie", "Charlie", "Finley", "George", "Harry", "Jack", "Jacob", "Leo", "Logan", "Mason", "Noah",
    "Oliver", "Oscar", "Riley", "Theo", "Tyler", "Zain", "Kai", "Rhys",
)
SURNAMES = (
    "Ashworth", "Bramley", "Calloway", "Denholm", "Ellery", "Fairclough", "Garside", "Holroyd", "Ingleby",
    "Jowett", "Kershaw", "Lockwood", "Marsden", "Nuttall", "Oldroyd", "O'Brien", "Pickles", "Quarmby",
    "Rushworth", "Sutcliffe", "Thwaite", "Uttley", "Varley", "Whitworth", "Yeadon", "Akhtar", "Begum",
    "Hussain", "Mahmood", "Okafor", "Mensah", "Campbell", "Clarke", "Nowicki", "Doherty", "Gallagher",
    "McCarthy", "Flanagan", "Jenkins", "Pritchard", "Llewellyn", "Brannigan", "Cartwright", "Dunmore",
    "Entwistle", "Fennimore", "Greenhalgh", "Hartley", "Illingworth", "Kitchener",
) + tuple(  # and place-like ones (Ashworth, Brookfield...), ~330 in all: surnames shared as often as in life
    a + b
    for a in ("Ash", "Brad", "Brook", "Cald", "Craw", "Dun", "Elm", "Fair", "Green", "Hal", "Hart", "Hol", "Kirk",
              "Lang", "Lock", "Mar", "Mid", "Nor", "Old", "Ral", "Ridge", "Shaw", "Stan", "Thorn", "Wal", "West",
              "Whit", "Wood")
    for b in ("ley", "ton", "worth", "field", "by", "wood", "well", "ford", "ham", "croft")
)  # fmt: skip
SURNAMES = tuple(dict.fromkeys(SURNAMES))  # no name twice
# Letter pairs that are no UK postcode area: the postcodes look real and are not.
POSTCODE_AREAS = ("NB", "QW", "XB", "JV", "QN", "XK")
POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters a real inward code uses

ETHNICITIES = (
    ("WBRI", 700), ("WIRI", 10), ("WOTH", 40), ("WIRT", 6), ("WROM", 8), ("MWBC", 25), ("MWBA", 10),
    ("MWAS", 10), ("MOTH", 15), ("AIND", 12), ("APKN", 40), ("ABAN", 12), ("AOTH", 8), ("BCRB", 18),
    ("BAFR", 25), ("BOTH", 6), ("CHNE", 3), ("OOTH", 12), ("REFU", 6), ("NOBT", 14),
)  # fmt: skip
CHILDREN_PER_MOTHER = ((1, 25), (2, 30), (3, 22), (4, 12), (5, 7), (6, 4))  # mean ~2.6: ~0.39 mothers a child
PROFILES = (("repeat", 30), ("mixed", 30), ("lower", 40))
PATHWAYS = {  # a child's pathway, weighted by the mother's profile
    "repeat": (("none", 10), ("short_breaks", 2), ("s20", 8), ("protection", 5), ("proceedings", 73), ("youth", 2)),
    "mixed": (("none", 30), ("short_breaks", 5), ("s20", 20), ("protection", 10), ("proceedings", 33), ("youth", 2)),
    "lower": (("none", 60), ("short_breaks", 10), ("s20", 12), ("protection", 10), ("proceedings", 6), ("youth", 2)),
}
OUTCOMES = (  # how care proceedings end
    ("adoption", 28), ("sgo", 22), ("cao", 8), ("home", 12), ("in_care", 18), ("other", 8), ("other_la", 3),
    ("e13", 1),
)
SGO_REFORM = date(2018, 4, 1)  # E43/E44 until 2017-18, E45-E48 from 2018-19
LATER_EPISODE_REASONS = ("L", "L", "L", "T", "B")  # RNE of an episode after the first: the legal status changed
NEEDS = ("N1", "N1", "N1", "N1", "N2", "N3", "N4", "N4", "N5", "N6", "N7", "N8", "N9", "N0")

DAY = timedelta(days=1)
YEAR = 365.25


def _weighted(pairs) -> tuple[tuple, tuple[int, ...]]:
    values, weights = zip(*pairs, strict=True)
    cumulative, total = [], 0
    for w in weights:
        total += w
        cumulative.append(total)
    return values, tuple(cumulative)


# --- what one family is -------------------------------------------------------------------
@dataclass(slots=True)
class LegalStatus:
    row_id: str
    code: str
    start: date
    end: date | None


@dataclass(slots=True)
class Episode:
    row_id: str
    start: date
    start_reason: str
    need: str
    ceased: date | None
    reason: str | None
    cla_id: str
    entered_care: date


@dataclass(slots=True)
class Person:
    person_id: str
    forename: str
    surname: str
    sex: str
    dob: date | None
    ethnicity: str
    nhs: str | None = None
    expected: date | None = None
    died: date | None = None
    legal_statuses: list[LegalStatus] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    postcodes: list[tuple[str, date, date | None]] = field(default_factory=list)  # (postcode, from, to)


@dataclass(slots=True)
class Family:
    mother: Person
    children: list[Person]  # born children first, then an unborn one if any
    link_ids: list[str]


@dataclass
class Synthetic:
    """What was generated, and what importing it with the default rules should give."""

    rows: Counter = field(default_factory=Counter)  # data rows written, by table (file stem)
    mothers: int = 0
    children: int = 0  # born children
    unborn: int = 0
    pregnant: int = 0
    youth_justice_legal_status: int = 0
    youth_justice_episode: int = 0
    warnings: Counter = field(default_factory=Counter)  # planted warnings, by Problem code
    kept_women: int = 0
    kept_children: int = 0
    kept_legal_statuses: int = 0
    kept_episodes: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def people(self) -> int:
        return self.mothers + self.children + self.unborn


# --- the generator ------------------------------------------------------------------------
class _Generator:
    def __init__(self, children: int, seed: int, today: date):
        self.rng = random.Random(f"pause-synthetic/{seed}")  # noqa: S311 - reproducible test data, no secret
        self.target, self.today, self.made = children, today, 0
        self.earliest = today - timedelta(days=int(15 * YEAR))
        self._next_person = 1_000_000 + 1000 * (seed % 1000)
        self._next_row = {"link": 1, "ls": 1, "ep": 1, "cla": 1, "addr": 1}
        self._nhs_seq = 0
        self._nhs_offset = self.rng.randrange(1_000_000)
        self._ethnicities = _weighted(ETHNICITIES)
        self._sizes = _weighted(CHILDREN_PER_MOTHER)
        self._profiles = _weighted(PROFILES)
        self._pathways = {k: _weighted(v) for k, v in PATHWAYS.items()}
        self._outcomes = _weighted(OUTCOMES)

    # small helpers
    def pick(self, table):
        values, cumulative = table
        return self.rng.choices(values, cum_weights=cumulative)[0]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def day_between(self, first: date, last: date) -> date:
        if last <= first:
            return first
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def after(self, start: date, low_days: int, high_days: int) -> date:
        return start + timedelta(days=self.rng.randint(low_days, high_days))

    def person_id(self) -> str:
        self._next_person += self.rng.randint(1, 3)  # ids with gaps, as a case system's are
        return str(self._next_person)

    def row_id(self, kind: str) -> str:
        n = self._next_row[kind]
        self._next_row[kind] = n + 1
        return str(n)

    def nhs_number(self) -> str | None:
        """A number of the 999 range (never issued: test numbers) with a valid check digit,
        unique: ~909,000 of them, enough for every woman of an extract of ~2M children (children
        get numbers only from the first half: those of an extract past ~350k children have none)."""
        while self._nhs_seq < 1_000_000:
            base = (self._nhs_seq * 387_433 + self._nhs_offset) % 1_000_000  # a permutation of 0..999999
            self._nhs_seq += 1
            digits = f"999{base:06d}"
            check = 11 - sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
            if check == 10:
                continue
            return digits + str(0 if check == 11 else check)
        return None

    def ethnicity(self) -> str:
        return self.pick(self._ethnicities)

    def postcode(self) -> str:
        r = self.rng
        letters = POSTCODE_UNIT_LETTERS
        return f"{r.choice(POSTCODE_AREAS)}{r.randint(1, 29)} {r.randint(0, 9)}{r.choice(letters)}{r.choice(letters)}"

    def address_history(self, born: date, moved_in_from: date) -> list[tuple[str, date, date | None]]:
        moves = self.rng.choice((1, 1, 1, 2, 2, 3))
        start = max(self.day_between(moved_in_from, self.today - timedelta(days=400)), born)
        history = []
        for i in range(moves):
            end = None if i == moves - 1 else self.day_between(start + 30 * DAY, min(start + 1500 * DAY, self.today))
            if end is not None and end >= self.today:
                end = None
            history.append((self.postcode(), start, end))
            if end is None:
                break
            start = end
        return history

    # families
    def families(self) -> Iterator[Family]:
        while self.made < self.target:
            yield self.family()

    def family(self) -> Family:
        r, today = self.rng, self.today
        n = min(self.pick(self._sizes), self.target - self.made)
        self.made += n
        # Births: the first between 18 years ago and the span of the later ones before today.
        gaps = [r.randint(330, 1600) for _ in range(n - 1)]
        span = sum(gaps)
        latest_first = today - timedelta(days=span + r.randint(20, 400))
        oldest_first = today - timedelta(days=int(19.5 * YEAR))  # some are care leavers now
        if latest_first < oldest_first:  # too many years between births: close them up
            scale = (int(19 * YEAR) - 400) / max(span, 1)
            gaps = [max(300, int(g * scale)) for g in gaps]
            span = sum(gaps)
            latest_first = today - timedelta(days=span + 30)
        births = [self.day_between(oldest_first, latest_first)]
        for gap in gaps:
            births.append(births[-1] + timedelta(days=gap))
        # The mother: 16 to 45 at every birth, most in her late teens or twenties at the first.
        age_at_last_birth_max = 45 - span / YEAR
        age_first = min(16 + r.triangular(0.1, 22, 4), age_at_last_birth_max - 0.1)
        mother_dob = births[0] - timedelta(days=int(age_first * YEAR) + 1)
        ethnicity = self.ethnicity()
        surname = r.choice(SURNAMES)
        mother = Person(self.person_id(), r.choice(WOMEN_FORENAMES), surname, "F", mother_dob, ethnicity)
        mother.nhs = self.nhs_number() if not self.chance(0.03) else None
        mother.postcodes = self.address_history(mother_dob, today - timedelta(days=int(12 * YEAR)))
        profile = self.pick(self._profiles)
        children = [self.child(born, surname, ethnicity, profile) for born in births]
        if (today - mother_dob).days < 43 * YEAR and self.chance(0.04):
            mother.expected = self.after(today, 14, 250)
            if self.chance(0.5):
                unborn = Person(self.person_id(), "Baby", surname, "U", None, "NOBT", expected=mother.expected)
                children.append(unborn)
        return Family(mother, children, [self.row_id("link") for _ in children])

    def child(self, born: date, mother_surname: str, mother_ethnicity: str, profile: str) -> Person:
        r = self.rng
        sex = "F" if r.random() < 0.49 else "M" if r.random() < 0.995 else "U"
        forename = r.choice(GIRLS_FORENAMES if sex == "F" else BOYS_FORENAMES)
        surname = mother_surname if self.chance(0.75) else r.choice(SURNAMES)
        ethnicity = mother_ethnicity if self.chance(0.85) else r.choice(("MWBC", "MWBA", "MWAS", "MOTH"))
        child = Person(self.person_id(), forename, surname, sex, born, ethnicity)
        # Children stop getting numbers half-way through the 999 range, so that women never run out.
        child.nhs = self.nhs_number() if self.chance(0.97) and self._nhs_seq < 500_000 else None
        pathway = self.pick(self._pathways[profile])
        if pathway == "youth" and (self.today - born).days < 11 * YEAR:
            pathway = "s20"  # youth justice needs a child of 10 or over
        if pathway != "none":
            getattr(self, "_" + pathway)(child)
        if self.chance(0.3):
            child.postcodes = self.address_history(born, born)
        return child

    # pathways: each appends the child's legal statuses and episodes
    def _start(self, child: Person, min_age_days: int = 0) -> date | None:
        first = max(child.dob + timedelta(days=min_age_days), self.earliest)
        last = min(self.today - timedelta(days=2), _add_years(child.dob, 18) - timedelta(days=30))
        return None if first > last else self.day_between(first, last)

    def _period(self, child: Person, steps: list[tuple[str, int]], reason: str | None, start: date | None = None):
        """One period of care: a legal status after another (code, days), an episode for each
        (two when the placement changes meanwhile), chained by X1; the last episode ends with ``reason`` (None: still looked after). Cut
        short at ``today`` (what has not happened yet stays open) and at the child's 18th
        birthday (care ends then)."""
        start = start or self._start(child)
        if start is None:
            return None
        eighteen = _add_years(child.dob, 18)
        cla_id, need, entered = self.row_id("cla"), self.rng.choice(NEEDS), start
        when = start
        for i, (code, days) in enumerate(steps):
            last_step = i == len(steps) - 1
            end = when + timedelta(days=max(days, 1))
            ceased_reason = reason if last_step else "X1"
            if end > self.today and eighteen > self.today:
                end, ceased_reason, last_step = None, None, True
            elif end >= eighteen:
                end, ceased_reason, last_step = eighteen, self.rng.choice(("E8", "E5", "E17")), True
            if ceased_reason not in (None, "X1", "SGO") and ceased_reason not in codes.YOUTH_JUSTICE_CEASED:
                if self.chance(0.001):
                    ceased_reason = "??"  # a placeholder where the code should be: a warning
            ended = end if ceased_reason else None
            child.legal_statuses.append(LegalStatus(self.row_id("ls"), code, when, ended))
            new_reason = "S" if i == 0 else self.rng.choice(LATER_EPISODE_REASONS)
            last_day = ended or self.today
            if (last_day - when).days > 90 and self.chance(0.25):  # a change of placement: a new episode
                moved = self.day_between(when + 30 * DAY, last_day - 30 * DAY)
                child.episodes.append(Episode(self.row_id("ep"), when, new_reason, need, moved, "X1", cla_id, entered))
                when, new_reason = moved, "P"
            child.episodes.append(Episode(self.row_id("ep"), when, new_reason, need, ended, ceased_reason, cla_id, entered))
            if last_step or end is None:
                return end
            when = end
        return when

    def _short_breaks(self, child: Person) -> None:
        start = self._start(child, 365 * 3)
        code = self.rng.choice(("V3", "V4"))
        for _ in range(self.rng.randint(1, 4)):
            if start is None or start >= self.today - 5 * DAY:
                return
            end = self.after(start, 1, 6)
            self._period(child, [(code, (end - start).days)], self.rng.choice(("E4A", "E8")), start)
            start = self.after(end, 20, 200)

    def _s20(self, child: Person) -> None:
        reason = self.pick(_weighted((("E4A", 55), ("E4B", 20), ("E13", 20), ("E3", 3), ("E8", 2))))
        self._period(child, [("V2", self.rng.randint(10, 500))], reason)

    def _protection(self, child: Person) -> None:
        code = self.rng.choice(("L1", "L1", "L2", "L3"))
        self._period(child, [(code, self.rng.randint(1, 8))], self.rng.choice(("E4A", "E4A", "E4B")))

    def _youth(self, child: Person) -> None:
        code = self.rng.choice(("J1", "J2", "J3"))
        start = self._start(child, int(10.2 * YEAR))
        if start is not None:
            self._period(child, [(code, self.rng.randint(5, 200))], self.rng.choice(("E9", "E14", "E4A")), start)

    def _proceedings(self, child: Person) -> None:
        r = self.rng
        steps: list[tuple[str, int]] = []
        if self.chance(0.3):
            steps.append((r.choice(("L1", "L2", "L2")), r.randint(1, 8)))
        elif self.chance(0.15):
            steps.append(("V2", r.randint(20, 300)))
        steps.append(("C1", r.randint(60, 400)))
        outcome = self.pick(self._outcomes)
        if outcome == "adoption":
            steps.append(("C2", r.randint(30, 200)))
            steps.append(("D1" if self.chance(0.01) else "E1", r.randint(120, 600)))
            reason = r.choice(("E11", "E11", "E12"))
        elif outcome == "sgo":
            steps.append(("C2", r.randint(30, 700)))
            reason = "SGO"
        elif outcome == "cao":
            reason = "E41"
        elif outcome == "home":
            if self.chance(0.5):
                steps.append(("C2", r.randint(100, 900)))
            reason = r.choice(("E4A", "E4A", "E4B"))
        elif outcome == "in_care":
            steps.append(("C2", r.randint(3000, 7000)))  # until 18, or still in care today
            reason = "E8"
        elif outcome == "other":
            steps.append(("C2", r.randint(300, 3000)))
            reason = "E2" if self.chance(0.02) else r.choice(("E5", "E8", "E17"))
        elif outcome == "other_la":
            steps.append(("C2", r.randint(100, 1000)))
            reason = "E3"
        else:
            reason = "E13"
        ended = self._period(child, steps, reason)
        last = child.episodes[-1] if child.episodes else None
        if last is not None and last.reason == "SGO":
            last.reason = (
                r.choice(("E43", "E44")) if last.ceased < SGO_REFORM else r.choice(("E45", "E46", "E47", "E48"))
            )
        if last is not None and last.reason == "E2" and ended is not None:
            child.died = ended


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# --- what the import should make of it -------------------------------------------------------
_KEPT = (Position.COUNTED, Position.REVIEW)


def _relevant(child: Person) -> bool:
    youth_ls, youth_rec = codes.YOUTH_JUSTICE_LEGAL_STATUS, codes.YOUTH_JUSTICE_CEASED
    return any(
        default_position(CodeList.LEGAL_STATUS, ls.code) in _KEPT for ls in child.legal_statuses
        if ls.code not in youth_ls
    ) or any(
        default_position(CodeList.EPISODE_CEASED, ep.reason) in _KEPT for ep in child.episodes
        if ep.reason is not None and ep.reason not in youth_rec
    )  # fmt: skip


def _account(stats: Synthetic, family: Family) -> None:
    stats.mothers += 1
    stats.pregnant += family.mother.expected is not None
    kept = any(_relevant(c) for c in family.children)
    for child in family.children:
        if child.dob is None:
            stats.unborn += 1
        else:
            stats.children += 1
        ls = [x for x in child.legal_statuses if x.code not in codes.YOUTH_JUSTICE_LEGAL_STATUS]
        ep = [x for x in child.episodes if x.reason not in codes.YOUTH_JUSTICE_CEASED]
        stats.youth_justice_legal_status += len(child.legal_statuses) - len(ls)
        stats.youth_justice_episode += len(child.episodes) - len(ep)
        stats.warnings["unrecognised_code"] += sum(1 for x in ep if x.reason == "??")
        if kept:
            stats.kept_children += 1
            stats.kept_legal_statuses += len(ls)
            stats.kept_episodes += len(ep)
    stats.kept_women += kept


# --- writing the SSD tables -------------------------------------------------------------------
class _Messy:
    """How values are spelled, as a SQL Server export spells them, with a few oddities."""

    def __init__(self, rng: random.Random, stats: Synthetic):
        self.rng, self.stats = rng, stats

    @staticmethod
    def datetime(day: date | None) -> str:
        return "NULL" if day is None else day.isoformat() + " 00:00:00.000"

    def uk_or_iso(self, day: date | None) -> str:
        if day is None:
            return "NULL"
        return f"{day.day:02d}/{day.month:02d}/{day.year}" if self.rng.random() < 0.3 else day.isoformat()

    def code(self, value: str | None) -> str:
        """A code as written: a stray space or lower case now and then (read the same)."""
        if value is None:
            return "NULL"
        x = self.rng.random()
        if x < 0.004:
            return " " + value
        if x < 0.008:
            return value.lower() if len(value) <= 3 else value[:-1] + value[-1].lower()
        return value

    def placeholder(self, value: str, rate: float) -> str:
        """Now and then ``??`` instead of a code: an unrecognised code, so a warning."""
        if self.rng.random() < rate:
            self.stats.warnings["unrecognised_code"] += 1
            return "??"
        return value

    def nhs(self, number: str | None, *, rate_invalid: float) -> str:
        if number is None:
            return "NULL"
        if self.rng.random() < rate_invalid:
            self.stats.warnings["invalid_nhs_number"] += 1
            wrong = (int(number[9]) + self.rng.randint(1, 9)) % 10  # any other last digit is wrong
            return number[:9] + str(wrong)
        if self.rng.random() < 0.05:
            return f"{number[:3]} {number[3:6]} {number[6:]}"  # spaced, as typed
        return number


def _person_row(m: _Messy, p: Person, *, mother: bool) -> tuple:
    gender = "02" if p.sex == "F" else "01" if p.sex == "M" else "00"
    ethnicity = m.placeholder(m.code(p.ethnicity), 0.002)
    return (
        p.person_id, "NULL", p.forename, p.surname, p.sex, gender, ethnicity, m.datetime(p.dob),
        m.datetime(p.expected), m.nhs(p.nhs, rate_invalid=0.01 if mother else 0.0), m.datetime(p.died),
        "Y" if mother else "N", "NULL",
    )  # fmt: skip


def _write_family(w: dict, m: _Messy, stats: Synthetic, family: Family) -> None:
    rows = stats.rows
    mother = family.mother
    w["ssd_person"].writerow(_person_row(m, mother, mother=True))
    people = 1
    for child in family.children:
        w["ssd_person"].writerow(_person_row(m, child, mother=False))
        people += 1
    rows["ssd_person"] += people
    for link_id, child in zip(family.link_ids, family.children, strict=True):
        w["ssd_mother"].writerow((link_id, mother.person_id, child.person_id, m.datetime(child.dob)))
    rows["ssd_mother"] += len(family.children)
    addresses = [(mother, pc) for pc in mother.postcodes]
    for child in family.children:
        for ls in child.legal_statuses:
            w["ssd_legal_status"].writerow(
                (ls.row_id, child.person_id, m.code(ls.code), m.datetime(ls.start), m.datetime(ls.end))
            )
            rows["ssd_legal_status"] += 1
        for ep in child.episodes:
            reason = ep.reason if ep.reason == "??" else m.code(ep.reason)
            w["ssd_cla_episodes"].writerow(
                (ep.row_id, child.person_id, m.datetime(ep.start), ep.start_reason, ep.need,
                 m.datetime(ep.ceased), reason, ep.cla_id, m.datetime(ep.entered_care))
            )  # fmt: skip
            rows["ssd_cla_episodes"] += 1
        addresses += [(child, pc) for pc in child.postcodes]
    for person, (postcode, start, end) in addresses:
        written = postcode if m.rng.random() < 0.8 else postcode.replace(" ", "").lower()
        w["ssd_address"].writerow(
            (f"A{m.rng.randint(0, 9)}{stats.rows['ssd_address']:07d}", person.person_id, "Home", written,
             m.uk_or_iso(start), m.uk_or_iso(end))
        )  # fmt: skip
        rows["ssd_address"] += 1


def write_ssd(
    target: str | Path | Mapping[str, BinaryIO],
    *,
    children: int,
    seed: int = 1,
    today: date | None = None,
) -> Synthetic:
    """Write a synthetic SSD table set of ``children`` children: to a folder (``ssd_person.csv``
    and so on, created or replaced), or to the binary streams of a mapping keyed by table name
    (``ssd_person``...; left open). Returns what was written and what the import should keep."""
    today = today or date.today()
    generator = _Generator(children, seed, today)
    stats = Synthetic()
    messy = _Messy(random.Random(f"pause-synthetic-spelling/{seed}"), stats)  # noqa: S311 - as above
    with ExitStack() as stack:
        if isinstance(target, Mapping):
            streams = {t: target[t] for t in TABLES}
        else:
            folder = Path(target)
            folder.mkdir(parents=True, exist_ok=True)
            streams = {t: stack.enter_context(open(folder / f"{t}.csv", "wb")) for t in TABLES}
        texts = {}
        for table, stream in streams.items():
            stream.write(b"\xef\xbb\xbf")  # the byte order mark SQL Server Management Studio writes
            text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
            texts[table] = text
            stack.callback(text.detach)  # the caller's stream stays open
            stack.callback(text.flush)
        writers = {t: csv.writer(texts[t], lineterminator="\r\n") for t in TABLES}
        for table in TABLES:
            writers[table].writerow(HEADERS[table])
        for family in generator.families():
            _account(stats, family)
            _write_family(writers, messy, stats, family)
    return stats


def ssd_upload(*, children: int, seed: int = 1, today: date | None = None) -> tuple[list[tuple[str, io.BytesIO]], Synthetic]:
    """A small synthetic SSD table set in memory, as ``import_extract`` takes it: the
    (file name, binary file) pairs and what was generated. For demos and tests; write bigger
    extracts to a folder with ``write_ssd``."""
    streams = {t: io.BytesIO() for t in TABLES}
    stats = write_ssd(streams, children=children, seed=seed, today=today)
    for stream in streams.values():
        stream.seek(0)
    return [(f"{t}.csv", streams[t]) for t in TABLES], stats


# --- the flat template -----------------------------------------------------------------------
def write_flat(stream: BinaryIO, *, children: int, seed: int = 1, today: date | None = None) -> Synthetic:
    """The same families as a flat template (one CSV, one row a legal status or episode; a
    child with neither, and a mother with no such child, do not appear). Written clean (UTF-8,
    CRLF, empty cells, ISO dates) as a Trust filling in the template would. ``Synthetic.rows``
    counts the file's data rows under ``flat``; the other counts are those of the families."""
    today = today or date.today()
    generator = _Generator(children, seed, today)
    stats = Synthetic()
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    try:
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(FLAT_HEADER)
        for family in generator.families():
            _account(stats, family)
            mo = family.mother
            current = next((pc for pc, _, end in mo.postcodes if end is None), "")
            mother_cells = (mo.person_id, mo.forename, mo.surname, _iso(mo.dob), mo.nhs or "", current,
                            mo.ethnicity, _iso(mo.expected))  # fmt: skip
            for child in family.children:
                child_cells = (child.person_id, _iso(child.dob or child.expected), child.sex)
                for ls in child.legal_statuses:
                    writer.writerow(mother_cells + child_cells + ("legal_status", ls.code, _iso(ls.start), _iso(ls.end)))
                    stats.rows["flat"] += 1
                for ep in child.episodes:
                    writer.writerow(
                        mother_cells + child_cells + ("episode", ep.reason or "", _iso(ep.start), _iso(ep.ceased))
                    )
                    stats.rows["flat"] += 1
    finally:
        text.flush()
        text.detach()
    return stats


def _iso(day: date | None) -> str:
    return "" if day is None else day.isoformat()
