"""Reading and validating a whole extract: the public entry points.

Two ways to use it, one code path:

- ``read_extract(files, ...)`` reads everything once to validate it, keeping only ids (in
  ``IdIndex``) and counts, and returns an ``ExtractReading``: the errors (then it yields no
  records at all), or the warnings and counts plus ``iter_records()``, which reads the files a
  second time and streams the records. Memory stays bounded whatever the file size, and the
  database side never sees a record of an extract that will be refused.
- ``scan_extract(files, ...)`` streams the records while validating, in one pass, for a caller
  that writes inside a transaction and rolls back when ``scan.reading.ok`` is False at the end
  (half the parsing; the records of a refused extract do reach the caller).

Order: the SSD tables are read people first, so each link is checked as it is read; repeated
row ids are found when each table ends (the index is sorted then). A table whose ids repeat is
re-read to name the exact rows, so a hash collision can never be reported as a duplicate.
Checks that need people are skipped when ``ssd_person.csv`` itself could not be read, rather
than burying its one error under a million "person not in the extract" errors; a person row
with an error of its own still counts as present, so the links to it add no errors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from eligibility.extract.bundle import open_bundle
from eligibility.extract.cells import ReadContext
from eligibility.extract.files import Bundle, ExtractFormat, Limits, Table, TableFile
from eligibility.extract.flat import FLAT_COLUMNS, FlatSplitter, read_flat
from eligibility.extract.idindex import IdIndex
from eligibility.extract.problems import (
    WARNING_CODES,
    Code,
    ExtractRefused,
    Level,
    Problem,
    ProblemLog,
    StrictLog,
)
from eligibility.extract.records import (
    AddressRow,
    EpisodeRow,
    LegalStatusRow,
    MotherRow,
    PersonRow,
    Record,
)
from eligibility.extract.ssd import (
    ADDRESS_COLUMNS,
    EPISODE_COLUMNS,
    LEGAL_STATUS_COLUMNS,
    MOTHER_COLUMNS,
    PERSON_COLUMNS,
    read_addresses,
    read_episodes,
    read_legal_statuses,
    read_mothers,
    read_persons,
)
from eligibility.extract.values import age_in_years, canonical_id

Files = Sequence[tuple[str, BinaryIO]]
KNOWN_COLUMNS = frozenset(
    PERSON_COLUMNS
    + MOTHER_COLUMNS
    + LEGAL_STATUS_COLUMNS
    + EPISODE_COLUMNS
    + ADDRESS_COLUMNS
    + FLAT_COLUMNS
)
RECORD_NAMES = {
    PersonRow: "person",
    MotherRow: "mother",
    LegalStatusRow: "legal_status",
    EpisodeRow: "episode",
    AddressRow: "address",
}

# Per table: reader, the row id of its records (for repeats) and that id's column.
_READERS: dict[Table, tuple[Callable, Callable[[Record], str] | None, str]] = {
    Table.PERSON: (read_persons, lambda r: r.person_id, "pers_person_id"),
    Table.MOTHER: (read_mothers, lambda r: r.link_id, "moth_table_id"),
    Table.LEGAL_STATUS: (read_legal_statuses, lambda r: r.legal_status_id, "lega_legal_status_id"),
    Table.EPISODE: (read_episodes, lambda r: r.episode_id, "clae_cla_episode_id"),
    Table.ADDRESS: (read_addresses, None, ""),
}
_LINKS: dict[Table, tuple[tuple[str, str], ...]] = {
    Table.MOTHER: (("mother_id", "moth_person_id"), ("child_id", "moth_childs_person_id")),
    Table.LEGAL_STATUS: (("person_id", "lega_person_id"),),
    Table.EPISODE: (("person_id", "clae_person_id"),),
    Table.ADDRESS: (("person_id", "addr_person_id"),),
}


@dataclass
class ExtractReading:
    """The outcome of reading an extract. ``ok`` is False when any error was found; then
    ``iter_records()`` refuses. Problems past ``Limits.max_problems_per_kind`` of one code are
    counted in ``problem_counts`` but not kept."""

    format: ExtractFormat | None
    files: tuple[str, ...]
    problems: list[Problem]
    problem_counts: dict[Code, int]
    rows_read: dict[str, int]  # non-blank data rows, by file
    record_counts: dict[str, int]  # records yielded, by kind (person, mother, legal_status...)
    left_out: dict[str, int]  # rows not imported, by reason (youth_justice_legal_status...)
    values_not_read: dict[str, int]  # optional dates that could not be read, by column
    _bundle: Bundle | None = field(default=None, repr=False)
    _options: tuple = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        return not any(code not in WARNING_CODES for code in self.problem_counts)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level is Level.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level is Level.WARNING]

    def iter_records(self, tables: Collection[Table] | None = None) -> Iterator[Record]:
        """Every record, people first (SSD: table by table; flat: each person before the first
        event that needs them), or only those of ``tables`` (SSD; the flat template is one file,
        read whole). Reads the files again, so they must still be open. Raises
        ``ExtractRefused`` if the reading had errors, or if a file no longer reads as it did."""
        if not self.ok or self._bundle is None:
            raise ExtractRefused(self.errors)
        mapping, today = self._options
        ctx = ReadContext(StrictLog(), today, mapping)
        yield from _records(self._bundle, ctx, check=False, tables=tables)

    def _only(self, kind: type) -> Iterator:
        return (r for r in self.iter_records() if type(r) is kind)

    def persons(self) -> Iterator[PersonRow]:
        return self._only(PersonRow)

    def mothers(self) -> Iterator[MotherRow]:
        return self._only(MotherRow)

    def legal_statuses(self) -> Iterator[LegalStatusRow]:
        return self._only(LegalStatusRow)

    def episodes(self) -> Iterator[EpisodeRow]:
        return self._only(EpisodeRow)

    def addresses(self) -> Iterator[AddressRow]:
        return self._only(AddressRow)


class ExtractScan:
    """One pass that yields records while validating. Iterate it once; then ``reading`` holds
    the outcome. If ``reading.ok`` is False, discard everything the records were used for."""

    def __init__(self, files: Files, mapping, today: date, limits: Limits):
        self._files, self._mapping, self._today, self._limits = files, mapping, today, limits
        self.reading: ExtractReading | None = None
        self.format: ExtractFormat | None = None  # known once iteration has begun

    def __iter__(self) -> Iterator[Record]:
        log = ProblemLog(self._limits.max_problems_per_kind)
        ctx = ReadContext(log, self._today, self._mapping)
        counts: Counter[str] = Counter()
        bundle = None
        try:
            bundle = open_bundle(self._files, self._limits)
            self.format = bundle.format
        except ExtractRefused as refused:
            log.extend(refused.problems)
        if bundle is not None:
            for record in _records(bundle, ctx, check=True):
                counts[RECORD_NAMES[type(record)]] += 1
                yield record
        self.reading = ExtractReading(
            bundle.format if bundle else None,
            tuple(f.name for f in bundle.files) if bundle else (),
            log.kept,
            dict(log.counts),
            dict(ctx.rows),
            dict(counts),
            dict(ctx.left_out),
            dict(ctx.unread),
            bundle,
            (self._mapping, self._today),
        )


def check_mapping(mapping: Mapping[str, str] | None) -> dict[str, str]:
    """The mapping as a dict; ValueError, in words for the caseworker, if it cannot be used."""
    if mapping is not None and not isinstance(mapping, Mapping):
        raise ValueError("The column mapping is not a list of column names")
    mapping = dict(mapping or {})
    for ours, theirs in mapping.items():
        if ours not in KNOWN_COLUMNS:
            raise ValueError(f"The column mapping names a column the portal does not read: {ours}")
        if not isinstance(theirs, str) or not theirs.strip():
            raise ValueError(f"The column mapping gives no header for {ours}")
    return mapping


def scan_extract(
    files: Files,
    *,
    mapping: Mapping[str, str] | None = None,
    today: date | None = None,
    limits: Limits | None = None,
) -> ExtractScan:
    """Records while validating, in one pass (see the module docstring)."""
    return ExtractScan(files, check_mapping(mapping), today or date.today(), limits or Limits())


def read_extract(
    files: Files,
    *,
    mapping: Mapping[str, str] | None = None,
    today: date | None = None,
    limits: Limits | None = None,
) -> ExtractReading:
    """Validate an upload and return its reading (see the module docstring).

    ``files``: (file name, binary seekable file object) pairs, as uploaded. ``mapping``: our
    column name -> the Trust's header, for Trusts whose columns are named differently (raises
    ValueError for a name the portal does not read). ``today``: the date after which a date is
    "in the future" (default: today). Never raises for anything in the files themselves.
    """
    scan = scan_extract(files, mapping=mapping, today=today, limits=limits)
    for _ in scan:
        pass
    assert scan.reading is not None
    return scan.reading


# --- the pass itself --------------------------------------------------------------------


def _records(bundle: Bundle, ctx: ReadContext, *, check: bool, tables=None) -> Iterator[Record]:
    if bundle.format is ExtractFormat.FLAT:
        return _flat_records(bundle.files[0], ctx, check)
    return _ssd_records(bundle, ctx, check, tables)


def _ssd_records(bundle: Bundle, ctx: ReadContext, check: bool, tables=None) -> Iterator[Record]:
    people = IdIndex(with_dates=True)
    people_ok = False
    people_file = bundle.files[0].name  # ssd_person is required and read first
    for tf in bundle.files:
        reader, id_of, id_column = _READERS[tf.table]  # type: ignore[index]
        if not check:
            if tables is None or tf.table in tables:
                yield from reader(tf, ctx)
            continue
        if tf.table is Table.PERSON:
            for person in reader(tf, ctx):
                people.add(canonical_id(person.person_id), person.dob)
                yield person
            for person_id in ctx.present_with_errors:  # in the file, with an error of its own
                people.add(canonical_id(person_id))
            ctx.present_with_errors.clear()
            repeated = people.seal()
            people_ok = tf.name not in ctx.failed
        else:
            ids = IdIndex()
            links = _LINKS[tf.table]  # type: ignore[index]
            mothers = tf.table is Table.MOTHER
            for record in reader(tf, ctx):
                if people_ok and not _links_ok(record, links, people, people_file, ctx):
                    continue
                if id_of is not None:
                    ids.add(canonical_id(id_of(record)))
                if mothers and people_ok:
                    _mother_age(record, people, ctx)  # type: ignore[arg-type]
                yield record
            repeated = ids.seal()
        if repeated and id_of is not None:
            _report_repeats(tf, ctx, reader, id_of, id_column, repeated)


def _links_ok(
    record: Record,
    links: tuple[tuple[str, str], ...],
    people: IdIndex,
    people_file: str,
    ctx: ReadContext,
) -> bool:
    ok = True
    for attribute, column in links:
        if canonical_id(getattr(record, attribute)) not in people:
            ok = False
            name = ctx.mapping.get(column, column)
            ctx.log.add(
                Code.UNKNOWN_PERSON,
                f"{name} does not match any person in {people_file}. Every person an extract "
                "links to must be in it",
                record.file,
                record.row,
                name,
            )
    return ok


def _mother_age(record: MotherRow, people: IdIndex, ctx: ReadContext) -> None:
    mother_dob = people.date_of(canonical_id(record.mother_id))
    child_dob = record.child_dob or people.date_of(canonical_id(record.child_id))
    if mother_dob and child_dob and age_in_years(mother_dob, child_dob) < 12:
        ctx.log.add(
            Code.MOTHER_UNDER_12,
            "The mother was younger than 12 when this child was born. Check both dates of birth",
            record.file,
            record.row,
            ctx.mapping.get("moth_person_id", "moth_person_id"),
        )


def _report_repeats(
    tf: TableFile,
    ctx: ReadContext,
    reader: Callable[[TableFile, ReadContext], Iterator[Record]],
    id_of: Callable[[Record], str],
    column: str,
    candidates: set[int],
) -> None:
    """Re-read ``tf`` and report each row whose id (compared exactly) was already used."""
    seen: set[str] = set()
    name = ctx.mapping.get(column, column)
    for record in reader(tf, ctx.quiet()):
        key = canonical_id(id_of(record))
        if hash(key) not in candidates:
            continue
        if key in seen:
            ctx.log.add(
                Code.DUPLICATE_ID,
                f"{name} is the same as on an earlier row. Each row must have its own {name}",
                record.file,
                record.row,
                name,
            )
        seen.add(key)


def _flat_records(tf: TableFile, ctx: ReadContext, check: bool) -> Iterator[Record]:
    splitter = FlatSplitter(ctx, check=check)
    events = IdIndex()
    for row in read_flat(tf, ctx):
        records = splitter.split(row)
        if check and records:
            events.add(canonical_id(splitter.event_id(row)))
        yield from records
    if check and (repeated := events.seal()):
        _report_flat_repeats(tf, ctx, repeated)


def _report_flat_repeats(tf: TableFile, ctx: ReadContext, candidates: set[int]) -> None:
    seen: set[str] = set()
    for row in read_flat(tf, ctx.quiet()):
        key = canonical_id(FlatSplitter.event_id(row))
        if hash(key) not in candidates:
            continue
        if key in seen:
            ctx.log.add(
                Code.DUPLICATE_ID,
                "This row repeats an earlier row: the same child_id, event_type, code and "
                "start_date. Each event must be on one row only",
                row.file,
                row.row,
            )
        seen.add(key)
