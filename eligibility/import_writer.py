"""The import's second pass and its writes: kept people in, encrypted; then set-based SQL.

``PeopleWriter.person`` receives each person of the extract (the second read, of ``ssd_person``
only: the events were staged by the first). A kept woman or child is encrypted in Python
(``ProtectedModel.protected_values``: the same ciphertexts and blind indexes as ``protect``),
then looked up by her Trust person id among the programme's people (blind indexes of every
live key version, one query per batch):

- a new person is staged (``staging``) and inserted at the end by one ``INSERT ... SELECT``;
- a known woman is compared field by field and updated in place, in the same batch;
- a known child is staged too (its mother may be new, so have no id yet) and compared and
  updated at the end, a batch at a time;
- a person erased on request (``ErasedPerson``) is never brought back: left out and counted.

A value corrected through a rectification is never overwritten: the correction stands and the
difference is reported (a warning naming file, row and column). Events are upserted in SQL
(``ON CONFLICT (child, row id) DO UPDATE`` only where a value differs), so an unchanged
re-import rewrites nothing. People of earlier extracts that this one no longer contains are
marked, never deleted.
"""

from __future__ import annotations

import uuid
from collections import Counter

from django.db import connection

from eligibility import corrections
from eligibility.extract import EpisodeRow, LegalStatusRow, PersonRow
from eligibility.extract.values import canonical_id
from eligibility.import_plan import Plan, id_hash
from eligibility.models import CareEpisode, Child, LegalStatus, Woman
from eligibility.staging import Staging, StagingTable
from pseudonymisation.blind_index import IndexKind
from pseudonymisation.encryption import binding
from pseudonymisation.fields import Protector, encrypted_fields

BATCH = 2000
WOMAN_ENCRYPTED = ("trust_person_id", "forename", "surname", "date_of_birth", "nhs_number", "postcode")
WOMAN_PLAIN = ("nhs_number_valid", "ethnicity", "expected_child_due", "died_on")
CHILD_ENCRYPTED = ("trust_person_id", "date_of_birth")
CHILD_PLAIN = ("birth_year", "expected", "sex")
DERIVED = {"nhs_number": ("nhs_number_valid",), "date_of_birth": ("birth_year",)}  # kept in step by a correction
_INDEXES = {Woman: ("person_id_index", "nhs_number_index", "surname_dob_index", "surname_index"), Child: ("person_id_index",)}


def staging_tables() -> Staging:
    """The joins between staging tables are hash joins over whole tables (statistics refreshed
    once they are filled); the one index serves the keyset pages of children already held."""
    enc = [(name, "bytes") for name in WOMAN_ENCRYPTED]
    return Staging(
        StagingTable("imp_legal", [("child_h", "int"), ("source_row_id", "text"), ("code", "text"),
                                   ("start_date", "date"), ("end_date", "date")]),
        StagingTable("imp_episode", [("child_h", "int"), ("source_row_id", "text"), ("start_date", "date"),
                                     ("ceased_date", "date"), ("ceased_reason", "text")]),
        StagingTable("imp_woman", [("h", "int"), ("row_uid", "uuid"), *enc, ("person_id_index", "text"),
                                   ("nhs_number_index", "text"), ("surname_dob_index", "text"),
                                   ("surname_index", "text"),
                                   ("nhs_number_valid", "bool"), ("ethnicity", "text"),
                                   ("expected_child_due", "date"), ("died_on", "date")]),
        StagingTable("imp_mother", [("h", "int"), ("id", "int")]),
        StagingTable("imp_child", [("h", "int"), ("file", "text"), ("row", "int"), ("existing_id", "int"),
                                   ("mother_h", "int"), ("row_uid", "uuid"), ("trust_person_id", "bytes"),
                                   ("date_of_birth", "bytes"), ("person_id_index", "text"), ("birth_year", "int"),
                                   ("expected", "bool"), ("sex", "text")], index=("existing_id",)),
        StagingTable("imp_child_id", [("h", "int"), ("id", "int")]),
    )  # fmt: skip


def stage_event(staging: Staging, record, child_h: int) -> None:
    """The first pass's sink: every legal status and care episode, keyed by its child's hash."""
    if type(record) is LegalStatusRow:
        staging["imp_legal"].add((child_h, record.legal_status_id, record.code or "", record.start_date, record.end_date))
    elif type(record) is EpisodeRow:
        staging["imp_episode"].add(
            (child_h, record.episode_id, record.start_date, record.ceased_date, record.ceased_reason or "")
        )


def _new_counts() -> dict:
    return {"created": 0, "updated": 0, "unchanged": 0}


def _uid_db(value: uuid.UUID):
    return value if connection.vendor == "postgresql" else value.hex


class PeopleWriter:
    def __init__(self, extract, programme, protector: Protector, plan: Plan, staging: Staging):
        self.extract, self.programme, self.protector, self.plan, self.staging = (
            extract, programme, protector, plan, staging)  # fmt: skip
        self.erased_terms = corrections.erased_terms(programme)
        self.counts = {"women": _new_counts(), "children": _new_counts()}
        self.changed_women: list[int] = []
        self.changed_fields: Counter[str] = Counter()  # for the audit entry: which fields, never values
        self.erased_left_out = 0
        self.differences: list[dict] = []  # corrections that stood against a different value
        self._women: list[tuple] = []
        self._children: list[tuple] = []
        self._several = {m for mothers in plan.several_mothers.values() for m in mothers}
        self._mother_index: dict[int, str | None] = {}  # mothers of children with several kept mothers
        self._deferred: list[tuple] = []  # those children, until their mothers are all seen
        self._multi_version = len(protector.indexer.keyring._keys) > 1
        # The programme's first extract has nobody to match: no lookups then.
        self._held = {m for m in (Woman, Child) if m.objects.filter(programme=programme).exists()}

    # --- the second pass ----------------------------------------------------------------------
    def person(self, record: PersonRow) -> None:
        pid = canonical_id(record.person_id)
        h = hash(pid)
        if self.plan.is_kept_woman(h):
            values = {
                "trust_person_id": pid, "forename": record.forename, "surname": record.surname,
                "date_of_birth": record.dob, "nhs_number": record.nhs_number, "postcode": self.plan.postcode(h),
            }  # fmt: skip
            plain = {
                "nhs_number_valid": record.nhs_number_valid if record.nhs_number else None,
                "ethnicity": record.ethnicity or "",
                "expected_child_due": record.expected_dob,
                "died_on": record.death_date,
            }
            self._women.append((h, values, plain, record.file, record.row))
            if len(self._women) >= BATCH:
                self._flush_women()
        kept, mother_h = self.plan.kept_child(h)
        if kept:
            dob = record.dob or self.plan.link_dob.get(h)
            expected = bool(record.dob is None and record.expected_dob)
            dob = dob or (record.expected_dob if expected else None)
            values = {"trust_person_id": pid, "date_of_birth": dob}
            plain = {"birth_year": dob.year if dob else None, "expected": expected, "sex": record.sex or ""}
            item = (h, mother_h, values, plain, record.file, record.row)
            if mother_h == 0:
                self._deferred.append(item)
            else:
                self._children.append(item)
                if len(self._children) >= BATCH:
                    self._flush_children()

    def _protect(self, model, items):
        """(item, staged column values, search terms) for each item, erased people left out."""
        out = []
        for item in items:
            values, plain = item[-4], item[-3]
            uid = uuid.uuid4()
            enc = model.protected_values(self.protector, uid, values)
            if model is Woman and not plain["nhs_number_valid"]:
                enc["nhs_number_index"] = None  # an invalid NHS number is kept but never matched on
            terms = (
                self.protector.indexer.search_terms(IndexKind.PERSON_ID, values["trust_person_id"])
                if self._multi_version else [enc["person_id_index"]]
            )  # fmt: skip
            if self.erased_terms and not self.erased_terms.isdisjoint(terms):
                self.erased_left_out += 1
                if model is Woman and item[0] in self._several:
                    self._mother_index[item[0]] = None
                continue
            out.append((item, uid, enc, terms))
        existing = {} if model not in self._held else dict(
            model.objects.filter(programme=self.programme, person_id_index__in=[t for *_, ts in out for t in ts])
            .values_list("person_id_index", "pk")
        )  # fmt: skip
        return [(item, uid, enc, next((existing[t] for t in terms if t in existing), None))
                for item, uid, enc, terms in out]  # fmt: skip

    def _flush_women(self) -> None:
        known = []
        for (h, values, plain, file, row), uid, enc, pk in self._protect(Woman, self._women):
            if h in self._several:
                self._mother_index[h] = enc["person_id_index"]
            if pk is None:
                self.staging["imp_woman"].add(
                    (h, _uid_db(uid), *(enc[n] for n in WOMAN_ENCRYPTED), *(enc[n] for n in _INDEXES[Woman]),
                     *(plain[n] for n in WOMAN_PLAIN))
                )  # fmt: skip
            else:
                self.staging["imp_mother"].add((h, pk))
                known.append((pk, values, plain, file, row))
        self._women = []
        if known:
            self.changed_women += self._update(Woman, known, self.counts["women"])

    def _flush_children(self) -> None:
        for (h, mother_h, _, plain, file, row), uid, enc, pk in self._protect(Child, self._children):
            self.staging["imp_child"].add(
                (h, file, row, pk, mother_h, _uid_db(uid), enc["trust_person_id"], enc["date_of_birth"],
                 enc["person_id_index"], plain["birth_year"], plain["expected"], plain["sex"])
            )  # fmt: skip
        self._children = []

    # --- updating people already held ---------------------------------------------------------
    def _update(self, model, items: list[tuple], counts: dict) -> list[int]:
        """Compare each known person with the extract and update what changed, keeping every
        active correction. Returns the ids of the people changed."""
        rows = model.objects.in_bulk([pk for pk, *_ in items])
        fixed = corrections.active_corrections(model, list(rows), self.protector)
        changed, fields = [], set()
        for pk, values, plain, file, row in items:
            obj = rows[pk]
            for field, corrected in fixed.get(pk, {}).items():
                source = values if field in values else plain
                if field in source:
                    if corrections.as_text(source.pop(field)) != corrected:
                        self.differences.append({"file": file, "row": row, "column": field})
                    for derived in DERIVED.get(field, ()):
                        plain.pop(derived, None)  # follows the corrected value, not the extract
            names = self._apply(obj, values, plain)
            obj.last_extract, obj.in_latest_extract = self.extract, True
            if names:
                changed.append(obj)
                fields |= names
                self.changed_fields.update(f"{model._meta.model_name}.{n}" for n in names if not n.endswith("_index"))
            counts["updated" if names else "unchanged"] += 1
        if changed:
            model.objects.bulk_update(changed, sorted(fields | {"last_extract", "in_latest_extract"}), batch_size=500)
        model.objects.filter(pk__in=[pk for pk, *_ in items]).update(last_extract=self.extract, in_latest_extract=True)
        return [obj.pk for obj in changed]

    def _apply(self, obj, values: dict, plain: dict) -> set[str]:
        """Update a row in place; the names of the columns changed."""
        changed_enc = {k: v for k, v in values.items() if corrections.as_text(v) != obj.reveal(self.protector, k)}
        names = set()
        if changed_enc:
            before = {f: getattr(obj, f) for f in _INDEXES[type(obj)]}
            obj.protect(self.protector, **changed_enc)
            names |= set(changed_enc) | {f for f, v in before.items() if getattr(obj, f) != v}
        for k, v in plain.items():
            if getattr(obj, k) != v:
                setattr(obj, k, v)
                names.add(k)
        if type(obj) is Woman and not obj.nhs_number_valid and obj.nhs_number_index is not None:
            obj.nhs_number_index = None  # an invalid NHS number is kept but never matched on
            names.add("nhs_number_index")
        return {model_field_name(type(obj), n) for n in names}

    # --- after the second pass ----------------------------------------------------------------
    def finish(self) -> None:
        self._flush_women()
        for h, _, values, plain, file, row in self._deferred:
            mothers = [m for m in self.plan.several_mothers[h] if self._mother_index.get(m)]
            mother_h = min(mothers, key=self._mother_index.__getitem__) if mothers else 0
            self._children.append((h, mother_h, values, plain, file, row))
        self._flush_children()
        self.staging.flush()
        self.staging.index()
        self._insert_women()
        self._insert_children()
        self._update_known_children()
        self._map_children()

    def _sql(self, sql: str, params=()) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def _insert_women(self) -> None:
        columns = ["row_uid", *WOMAN_ENCRYPTED, *_INDEXES[Woman], *WOMAN_PLAIN]
        sql = (
            f"INSERT INTO {Woman._meta.db_table} ({', '.join(columns)}, programme_id, first_extract_id, "  # noqa: S608
            f"last_extract_id, in_latest_extract) SELECT {', '.join(columns)}, %s, %s, %s, %s FROM imp_woman"
        )
        self.counts["women"]["created"] = self._sql(sql, [self.programme.pk, self.extract.pk, self.extract.pk, True])
        self._sql(
            f"INSERT INTO imp_mother (h, id) SELECT s.h, w.id FROM imp_woman s "  # noqa: S608
            f"JOIN {Woman._meta.db_table} w ON w.row_uid = s.row_uid"
        )
        self.staging.analyze("imp_mother")

    def _insert_children(self) -> None:
        columns = ["row_uid", *CHILD_ENCRYPTED, "person_id_index", *CHILD_PLAIN]
        sql = (
            f"INSERT INTO {Child._meta.db_table} ({', '.join(columns)}, mother_id, programme_id, "  # noqa: S608
            f"first_extract_id, last_extract_id, in_latest_extract) SELECT {', '.join('c.' + c for c in columns)}, "
            "m.id, %s, %s, %s, %s FROM imp_child c JOIN imp_mother m ON m.h = c.mother_h WHERE c.existing_id IS NULL"
        )
        self.counts["children"]["created"] = self._sql(sql, [self.programme.pk, self.extract.pk, self.extract.pk, True])

    def _update_known_children(self) -> None:
        """Children already held, a batch at a time (keyset pages: bounded memory)."""
        after = 0
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT c.existing_id, c.row_uid, c.trust_person_id, c.date_of_birth, c.birth_year, c.expected, "
                    "c.sex, m.id, c.file, c.row FROM imp_child c JOIN imp_mother m ON m.h = c.mother_h "
                    "WHERE c.existing_id > %s ORDER BY c.existing_id LIMIT %s",
                    [after, BATCH],
                )
                page = cursor.fetchall()
            if not page:
                return
            items = []
            for pk, uid, tpid, dob, birth_year, expected, sex, mother_id, file, row in page:
                uid = str(uid if isinstance(uid, uuid.UUID) else uuid.UUID(uid))
                values = {name: None if v is None else self.protector.cipher.decrypt(
                    v, binding(Child._meta.label_lower, name, uid)) for name, v in
                    (("trust_person_id", tpid), ("date_of_birth", dob))}  # fmt: skip
                plain = {"birth_year": birth_year, "expected": bool(expected), "sex": sex, "mother_id": mother_id}
                items.append((pk, values, plain, file, row))
            self._update(Child, items, self.counts["children"])
            after = page[-1][0]

    def _map_children(self) -> None:
        """Each kept child's id by its hash, for the events."""
        self._sql(
            f"INSERT INTO imp_child_id (h, id) SELECT c.h, COALESCE(c.existing_id, e.id) FROM imp_child c "  # noqa: S608
            f"JOIN imp_mother m ON m.h = c.mother_h LEFT JOIN {Child._meta.db_table} e ON e.row_uid = c.row_uid"
        )
        self.staging.analyze("imp_child_id")


def model_field_name(model, name: str) -> str:
    return "mother" if name == "mother_id" else name


# Each kind of event: its model, staging table, the columns it fills (the row id and the child
# aside), and the columns extracts do not fill yet (blank when a row is created).
EVENT_KINDS = (
    ("legal_statuses", LegalStatus, "imp_legal", ("code", "start_date", "end_date"), ()),
    ("care_episodes", CareEpisode, "imp_episode", ("start_date", "ceased_date", "ceased_reason"),
     ("start_reason", "primary_need", "period_of_care_id")),
)


def upsert_events(extract) -> dict:
    """Create or update each kept child's events, keyed by (child, the extract's row id): one
    statement a kind, rewriting a row only where a value differs."""
    counts = {}
    for name, model, table, columns, blank in EVENT_KINDS:
        table_name = model._meta.db_table
        differs = " OR ".join(
            f"{table_name}.{c} IS DISTINCT FROM excluded.{c}" if connection.vendor == "postgresql"
            else f"{table_name}.{c} IS NOT excluded.{c}"
            for c in columns
        )
        blanks = ", ''" * len(blank)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table_name} (child_id, source_row_id, {', '.join((*columns, *blank))}, extract_id) "  # noqa: S608
                f"SELECT k.id, e.source_row_id, {', '.join('e.' + c for c in columns)}{blanks}, %s "
                f"FROM {table} e "
                "JOIN imp_child_id k ON k.h = e.child_h WHERE true "
                f"ON CONFLICT (child_id, source_row_id) DO UPDATE SET "
                f"{', '.join(f'{c} = excluded.{c}' for c in columns)}, extract_id = excluded.extract_id "
                f"WHERE {differs}",
                [extract.pk],
            )
            counts[name] = cursor.rowcount
    return counts


def mark_missing(programme, protector: Protector, plan: Plan, extract) -> dict:
    """People of earlier extracts that this one does not contain: kept, marked."""
    marked = {}
    for name, model in (("women", Woman), ("children", Child)):
        rows = (model.objects.filter(programme=programme, in_latest_extract=True).exclude(last_extract=extract)
                .only("pk", "row_uid", "trust_person_id"))  # fmt: skip
        gone = [row.pk for row in rows.iterator(chunk_size=BATCH)
                if not plan.is_present(row.reveal(protector, "trust_person_id"))]  # fmt: skip
        for start in range(0, len(gone), BATCH):
            model.objects.filter(pk__in=gone[start : start + BATCH]).update(in_latest_extract=False)
        marked[name] = len(gone)
    return marked


assert set(WOMAN_ENCRYPTED) == {f.name for f in encrypted_fields(Woman)}
assert set(CHILD_ENCRYPTED) == {f.name for f in encrypted_fields(Child)}
__all__ = ["PeopleWriter", "id_hash", "mark_missing", "stage_event", "staging_tables", "upsert_events"]
