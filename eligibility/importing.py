"""The import pipeline's database side: an extract that reads without errors becomes women,
children, legal statuses and care episodes — all or nothing, minimum necessary, encrypted.

Two passes over the files (``ExtractReading.iter_records`` reads them again): the first collects
links and events and decides who is kept (women with at least one counted, review or
unrecognised event for a child, and all their children); the second reads only those people.
A newer extract is a full snapshot: people are matched on the Trust's person id through blind
indexes (every live key version), updated in place, never duplicated, and people it no longer
contains are marked, never deleted.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from audit.log import record_event
from audit.models import Event
from eligibility.duplicates import propose_duplicates
from eligibility.extract import (
    AddressRow,
    EpisodeRow,
    LegalStatusRow,
    MotherRow,
    PersonRow,
    Problem,
    read_extract,
)
from eligibility.extract.codes import CodeList, Position, default_position
from eligibility.extract.values import canonical_id
from eligibility.models import (
    CareEpisode,
    Child,
    Extract,
    ExtractStatus,
    ImportStage,
    LegalStatus,
    Woman,
)
from pseudonymisation.blind_index import IndexKind
from pseudonymisation.fields import Protector
from sharing.models import Person, Programme
from sharing.roles import Perm, role_has
from sharing.selectors import membership_in

Files = list[tuple[str, BinaryIO]]
KEPT_POSITIONS = (Position.COUNTED, Position.REVIEW)


class AlreadyImported(Exception):
    """This exact file was imported successfully in this programme before."""

    def __init__(self, extract: Extract):
        self.extract = extract
        super().__init__(
            f"This file was already imported on {timezone.localtime(extract.finished_at):%d %B %Y at %H:%M}. "
            "Nothing has been changed."
        )


@dataclass
class Collected:
    """What the first pass keeps: the links and events, by canonical child id."""

    children_of: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    child_dob: dict[str, date | None] = field(default_factory=dict)
    legal_statuses: dict[str, list[LegalStatusRow]] = field(default_factory=lambda: defaultdict(list))
    episodes: dict[str, list[EpisodeRow]] = field(default_factory=lambda: defaultdict(list))
    relevant_children: set[str] = field(default_factory=set)


def fingerprint(files: Files) -> tuple[str, int]:
    """SHA-256 and size of the upload (files in the order given), streamed."""
    digest, size = hashlib.sha256(), 0
    for name, handle in files:
        digest.update(name.encode() + b"\0")
        handle.seek(0)
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        handle.seek(0)
    return digest.hexdigest(), size


def _problem_dict(p: Problem) -> dict:
    return {"level": str(p.level), "code": str(p.code), "message": p.message, "file": p.file, "row": p.row,
            "column": p.column}


def _is_relevant(code_list: CodeList, code: str | None) -> bool:
    return code is not None and default_position(code_list, code) in KEPT_POSITIONS


def collect_links_and_events(records: Iterable) -> Collected:
    c = Collected()
    for record in records:
        kind = type(record)
        if kind is MotherRow:
            child = canonical_id(record.child_id)
            c.children_of[canonical_id(record.mother_id)].add(child)
            c.child_dob[child] = record.child_dob
        elif kind is LegalStatusRow:
            child = canonical_id(record.person_id)
            c.legal_statuses[child].append(record)
            if _is_relevant(CodeList.LEGAL_STATUS, record.code):
                c.relevant_children.add(child)
        elif kind is EpisodeRow:
            child = canonical_id(record.person_id)
            c.episodes[child].append(record)
            if _is_relevant(CodeList.EPISODE_CEASED, record.ceased_reason):
                c.relevant_children.add(child)
    return c


def _latest_postcodes(addresses: Iterable[AddressRow]) -> dict[str, str]:
    """The current postcode of each person: an open address, else the latest started."""
    best: dict[str, tuple] = {}
    for a in addresses:
        if not a.postcode:
            continue
        rank = (a.end_date is None, a.start_date or date.min)
        pid = canonical_id(a.person_id)
        if pid not in best or rank >= best[pid][0]:
            best[pid] = (rank, a.postcode)
    return {pid: postcode for pid, (_, postcode) in best.items()}


def may_import(person: Person, programme: Programme) -> str | None:
    """The person's role if they may import into the programme now, else None (re-checked by tasks)."""
    membership = membership_in(person, programme.pk)
    if membership is None or not role_has(membership.role, Perm.UPLOAD_EXTRACTS):
        return None
    return membership.role


def refuse_if_imported(programme: Programme, sha: str) -> None:
    earlier = Extract.objects.filter(programme=programme, sha256=sha, status=ExtractStatus.SUCCEEDED).first()
    if earlier is not None:
        raise AlreadyImported(earlier)


def import_extract(
    *, programme: Programme, files: Files, by: Person, mapping: dict | None = None, today: date | None = None
) -> Extract:
    """Read, check and import an upload, synchronously (the command's path). Returns the Extract
    (succeeded or refused); raises AlreadyImported for a file imported before; an unexpected
    failure leaves the extract marked failed and no record changed."""
    if may_import(by, programme) is None:
        raise PermissionDenied("Only the programme's Trust caseworkers and leads import extracts.")
    sha, size = fingerprint(files)
    refuse_if_imported(programme, sha)
    extract = Extract.objects.create(
        programme=programme, uploaded_by=by, file_names=[name for name, _ in files], sha256=sha, size_bytes=size,
    )
    return run_import(extract, files, by=by, mapping=mapping, today=today)


class _Progress:
    """Counts bytes read across the passes over the files and saves the progress now and then
    (outside the write transaction only: inside it, nobody else could see it anyway)."""

    STEP = 4 * 1024 * 1024

    def __init__(self, extract: Extract, passes: int = 3):
        self.extract = extract
        self.done = 0
        self.saved = 0
        extract.progress_total = max(extract.size_bytes * passes, 1)

    def wrap(self, files: Files) -> Files:
        return [(name, _CountingReader(handle, self)) for name, handle in files]

    def advance(self, n: int) -> None:
        self.done += n
        if self.done - self.saved >= self.STEP and not transaction.get_connection().in_atomic_block:
            self.save()

    def save(self, stage: str | None = None) -> None:
        self.saved = self.done
        fields = {"progress_done": min(self.done, self.extract.progress_total), "progress_total": self.extract.progress_total}
        if stage:
            fields["stage"] = stage
        Extract.objects.filter(pk=self.extract.pk).update(**fields)


class _CountingReader:
    """A binary file that tells _Progress how much has been read through it."""

    def __init__(self, handle, progress: _Progress):
        self._h, self._p = handle, progress

    def read(self, n: int = -1) -> bytes:
        data = self._h.read(n)
        self._p.advance(len(data))
        return data

    def readinto(self, buffer) -> int:
        n = self._h.readinto(buffer)
        self._p.advance(n or 0)
        return n

    def __getattr__(self, name):
        return getattr(self._h, name)

    def __iter__(self):
        return iter(self._h)


def run_import(
    extract: Extract, files: Files, *, by: Person, mapping: dict | None = None, today: date | None = None
) -> Extract:
    """Everything after the upload: check, and if there are no errors, write all or nothing."""
    programme = extract.programme
    role = may_import(by, programme)
    if role is None:
        raise PermissionDenied("Only the programme's Trust caseworkers and leads import extracts.")
    extract.status, extract.failure = ExtractStatus.RUNNING, ""
    extract.save(update_fields=["status", "failure"])
    progress = _Progress(extract)
    progress.save(stage=ImportStage.CHECKING)
    reading = read_extract(progress.wrap(files), mapping=mapping, today=today)
    extract.format = str(reading.format or "")
    extract.problems = [_problem_dict(p) for p in reading.problems]
    if not reading.ok:
        extract.status = ExtractStatus.REFUSED
        extract.summary = {"errors": sum(1 for p in reading.problems if p.level == "error"),
                           "problem_counts": {str(k): v for k, v in reading.problem_counts.items()}}
        extract.finished_at = timezone.now()
        extract.stage, extract.progress_done = ImportStage.DONE, extract.progress_total
        extract.save()
        record_event(Event.CHANGE, actor=by, target=extract, programme=programme, role=role,
                     reason="extract refused: it has errors; no record changed", action=1)
        return extract
    progress.save(stage=ImportStage.SAVING)
    try:
        with transaction.atomic():
            summary = _write(extract, reading, programme, by, role)
    except Exception as exc:
        Extract.objects.filter(pk=extract.pk).update(
            status=ExtractStatus.FAILED, finished_at=timezone.now(), failure=type(exc).__name__[:200]
        )
        raise
    extract.summary = {
        **summary,
        "left_out": reading.left_out,
        "warnings": len(reading.warnings),
        "rows_read": reading.rows_read,
    }
    extract.status = ExtractStatus.SUCCEEDED
    extract.stage, extract.progress_done = ImportStage.DONE, extract.progress_total
    extract.finished_at = timezone.now()
    extract.save()
    return extract


def _write(extract: Extract, reading, programme: Programme, by: Person, role: str) -> dict:
    collected = collect_links_and_events(reading.iter_records())
    kept_women = {m for m, kids in collected.children_of.items() if kids & collected.relevant_children}
    kept_children = {k for m in kept_women for k in collected.children_of[m]}
    people: dict[str, PersonRow] = {}
    addresses: list[AddressRow] = []
    present: set[str] = set()
    for record in reading.iter_records():
        if type(record) is PersonRow:
            pid = canonical_id(record.person_id)
            present.add(pid)
            if pid in kept_women or pid in kept_children:
                people[pid] = record
        elif type(record) is AddressRow and canonical_id(record.person_id) in kept_women:
            addresses.append(record)
    postcodes = _latest_postcodes(addresses)
    protector = Protector.load(programme.pk, Woman.key_phase)
    women, w_counts = _upsert_women(extract, programme, protector, people, kept_women, postcodes)
    children, c_counts = _upsert_children(extract, programme, protector, people, collected, women)
    e_counts = _upsert_events(extract, collected, children)
    missing = _mark_missing(programme, protector, present, extract)
    proposed = propose_duplicates(programme, Woman.objects.filter(last_extract=extract), protector=protector)
    changed = [w for w in women.values() if getattr(w, "_changed", False)]
    record_event(
        Event.CHANGE, actor=by, subjects=changed, subject_model=Woman, programme=programme, role=role,
        reason=(f"extract #{extract.pk} imported: women {w_counts['created']} added, {w_counts['updated']} updated; "
                f"children {c_counts['created']} added, {c_counts['updated']} updated; "
                f"{missing['women']} women and {missing['children']} children not in this extract"),
        action=1,
    )
    left_out_people = len(present) - len(kept_women) - len(kept_children & present)
    return {
        "women": w_counts, "children": c_counts, "events": e_counts, "not_in_latest": missing,
        "people_left_out": max(left_out_people, 0),
        "people_left_out_reason": "no counted or review event for any child of theirs",
        "duplicates_proposed": proposed,
    }


def _index_map(model, programme: Programme) -> dict[str, object]:
    return {row.person_id_index: row for row in model.objects.filter(programme=programme)}


def _find(existing: dict, protector: Protector, pid: str):
    for term in protector.indexer.search_terms(IndexKind.PERSON_ID, pid):
        if term in existing:
            return existing[term]
    return None


def _woman_values(person: PersonRow | None, pid: str, postcode: str | None) -> dict:
    return {
        "trust_person_id": pid,
        "forename": person.forename if person else None,
        "surname": person.surname if person else None,
        "date_of_birth": person.dob if person else None,
        "nhs_number": person.nhs_number if person else None,
        "postcode": postcode,
    }


def _upsert_person(model, existing: dict, protector, extract, programme, pid: str, values: dict, plain: dict,
                   counts: dict, new: list):
    """Find the person by their Trust id (blind index, every key version) and update them in place,
    or prepare a new row for the caller's bulk insert. Returns (row, changed)."""
    row = _find(existing, protector, pid)
    if row is None:
        row = model(programme=programme, first_extract=extract, last_extract=extract, **plain)
        row.protect(protector, **values)
        new.append(row)
        counts["created"] += 1
        return row, True
    changed = _apply(row, protector, values, plain)
    row.last_extract, row.in_latest_extract = extract, True
    counts["updated" if changed else "unchanged"] += 1
    return row, changed


def _new_counts() -> dict:
    return {"created": 0, "updated": 0, "unchanged": 0}


def _upsert_women(extract, programme, protector, people, kept, postcodes):
    existing = _index_map(Woman, programme)
    result, counts, new = {}, _new_counts(), []
    for pid in sorted(kept):
        person = people.get(pid)
        plain = {
            "nhs_number_valid": person.nhs_number_valid if person and person.nhs_number else None,
            "ethnicity": (person.ethnicity or "") if person else "",
            "expected_child_due": person.expected_dob if person else None,
            "died_on": person.death_date if person else None,
        }
        woman, changed = _upsert_person(Woman, existing, protector, extract, programme, pid,
                                        _woman_values(person, pid, postcodes.get(pid)), plain, counts, new)
        if not plain["nhs_number_valid"]:
            woman.nhs_number_index = None  # an invalid NHS number is kept but never matched on
        if woman.pk is not None:
            woman.save()
        woman._changed = changed
        result[pid] = woman
    Woman.objects.bulk_create(new, batch_size=2000)
    return result, counts


def _apply(row, protector, values: dict, plain: dict) -> bool:
    """Update a row in place; True if any value changed."""
    changed_enc = {k: v for k, v in values.items() if _text(v) != row.reveal(protector, k)}
    if changed_enc:
        row.protect(protector, **changed_enc)
    changed_plain = {k: v for k, v in plain.items() if getattr(row, k) != v}
    for k, v in changed_plain.items():
        setattr(row, k, v)
    return bool(changed_enc or changed_plain)


def _text(value) -> str | None:
    if value in (None, ""):
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _upsert_children(extract, programme, protector, people, collected: Collected, women: dict):
    existing = _index_map(Child, programme)
    result, counts, new = {}, _new_counts(), []
    for mother_pid, woman in women.items():
        for pid in sorted(collected.children_of[mother_pid]):
            person = people.get(pid)
            dob = (person.dob if person else None) or collected.child_dob.get(pid)
            expected = bool(person and person.dob is None and person.expected_dob)
            dob = dob or (person.expected_dob if expected else None)
            values = {"trust_person_id": pid, "date_of_birth": dob}
            plain = {"mother_id": woman.pk, "birth_year": dob.year if dob else None, "expected": expected,
                     "sex": (person.sex or "") if person else ""}
            child, _ = _upsert_person(Child, existing, protector, extract, programme, pid, values, plain, counts, new)
            if child.pk is not None:
                child.save()
            result[pid] = child
    Child.objects.bulk_create(new, batch_size=2000)
    return result, counts


# Each kind of event: the model, where the first pass kept its rows, its row id, and its values.
_EVENT_KINDS = (
    ("legal_statuses", LegalStatus, "legal_statuses", lambda r: r.legal_status_id,
     lambda r: {"code": r.code or "", "start_date": r.start_date, "end_date": r.end_date}),
    ("care_episodes", CareEpisode, "episodes", lambda r: r.episode_id,
     lambda r: {"start_date": r.start_date, "ceased_date": r.ceased_date, "ceased_reason": r.ceased_reason or ""}),
)


def _upsert_events(extract, collected: Collected, children: dict) -> dict:
    """Create or update each kept child's events, keyed by (child, the extract's row id)."""
    counts = {}
    ids = [c.pk for c in children.values()]
    for name, model, source, row_id_of, values_of in _EVENT_KINDS:
        known = {(e.child_id, e.source_row_id): e for e in model.objects.filter(child_id__in=ids)}
        new, updated, fields = [], [], None
        for pid, child in children.items():
            for record in getattr(collected, source).get(pid, ()):
                values = {**values_of(record), "extract": extract}
                fields = list(values)
                row = known.get((child.pk, row_id_of(record)))
                if row is None:
                    new.append(model(child=child, source_row_id=row_id_of(record), **values))
                else:
                    for field, value in values.items():
                        setattr(row, field, value)
                    updated.append(row)
        model.objects.bulk_create(new, batch_size=2000)
        if updated:
            model.objects.bulk_update(updated, fields, batch_size=2000)
        counts[name] = len(new) + len(updated)
    return counts


def _mark_missing(programme, protector, present: set[str], extract) -> dict:
    """People of earlier extracts that this one does not contain: kept, marked."""
    marked = {}
    for name, model in (("women", Woman), ("children", Child)):
        gone = []
        for row in model.objects.filter(programme=programme, in_latest_extract=True).exclude(last_extract=extract):
            if canonical_id(row.reveal(protector, "trust_person_id")) not in present:
                gone.append(row.pk)
        model.objects.filter(pk__in=gone).update(in_latest_extract=False)
        marked[name] = len(gone)
    return marked
