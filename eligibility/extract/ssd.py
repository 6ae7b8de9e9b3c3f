"""Readers of the Standard Safeguarding Dataset tables: one generator of records per table.

Each reads its file's header (the SSD column names, or the Trust's through a column mapping;
extra columns are ignored), then streams one record per non-blank row, checking what a single
row can show. A row with an error yields no record (the import will be refused anyway, and the
database side never sees a half-valid row); a person row with an error still names someone who
is in the file, so its id is passed on for linking (``ctx.present_with_errors``) and links to
them raise no error of their own. Checks across rows and files are in ``validate``.

Required columns are the ones a rule, a match or a link depends on; the others may be absent
from an export (the value is then None). Youth-justice legal statuses (J1-J3) and episodes
ended by E9 or E14 are dropped as soon as their code is read, counted in ``ctx.left_out``,
and nothing else of theirs is read or checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from eligibility.extract import codes
from eligibility.extract.cells import ReadContext, open_table
from eligibility.extract.codes import CodeList
from eligibility.extract.files import TableFile
from eligibility.extract.quoting import FLAG
from eligibility.extract.records import AddressRow, EpisodeRow, LegalStatusRow, MotherRow, PersonRow
from eligibility.extract.values import normalise_postcode

PERSON_COLUMNS = (
    "pers_person_id",
    "pers_forename",
    "pers_surname",
    "pers_sex",
    "pers_gender",
    "pers_ethnicity",
    "pers_dob",
    "pers_expected_dob",
    "pers_common_child_id",
    "pers_single_unique_id",
    "pers_death_date",
    "pers_is_mother",
)
PERSON_REQUIRED = frozenset(
    {"pers_person_id", "pers_forename", "pers_surname", "pers_dob", "pers_expected_dob"}
)
MOTHER_COLUMNS = ("moth_table_id", "moth_person_id", "moth_childs_person_id", "moth_childs_dob")
MOTHER_REQUIRED = frozenset({"moth_table_id", "moth_person_id", "moth_childs_person_id"})
LEGAL_STATUS_COLUMNS = (
    "lega_legal_status_id",
    "lega_person_id",
    "lega_legal_status",
    "lega_legal_status_start_date",
    "lega_legal_status_end_date",
)
LEGAL_STATUS_REQUIRED = frozenset(LEGAL_STATUS_COLUMNS)
EPISODE_COLUMNS = (
    "clae_cla_episode_id",
    "clae_person_id",
    "clae_cla_episode_start_date",
    "clae_cla_episode_ceased_date",
    "clae_cla_episode_ceased_reason",
)
EPISODE_REQUIRED = frozenset(EPISODE_COLUMNS) - {"clae_cla_episode_start_date"}
ADDRESS_COLUMNS = (
    "addr_person_id",
    "addr_address_postcode",
    "addr_address_start_date",
    "addr_address_end_date",
)
ADDRESS_REQUIRED = frozenset({"addr_person_id", "addr_address_postcode"})

YES = frozenset({"Y", "YES", "1", "TRUE"})
NO = frozenset({"N", "NO", "0", "FALSE"})


def read_persons(tf: TableFile, ctx: ReadContext) -> Iterator[PersonRow]:
    table = open_table(tf, ctx, PERSON_COLUMNS, PERSON_REQUIRED)
    if table is None:
        return
    r, p, rows = table
    pid, fore, sur, sex = (p[c] for c in PERSON_COLUMNS[:4])
    gender, eth, dob, exp, nhs1, nhs2, death, mother = (p[c] for c in PERSON_COLUMNS[4:])
    nhs_columns = ((nhs1, "pers_common_child_id"), (nhs2, "pers_single_unique_id"))
    for _ in rows:
        person_id = r.ident(pid, "pers_person_id")
        born = r.date(dob, "pers_dob", rule=True)
        due = r.date(exp, "pers_expected_dob", rule=True, expected=True)
        died = r.date(death, "pers_death_date", rule=False)
        number, valid = r.nhs(nhs_columns)
        is_mother = None
        flag = r.text(mother)
        if flag is not None:
            flag = flag.upper()
            is_mother = True if flag in YES else False if flag in NO else None
            if is_mother is None:
                r.unrecognised("pers_is_mother", FLAG, flag)
        row = PersonRow(
            person_id or "",
            r.text(fore),
            r.text(sur),
            r.code(sex, "pers_sex", CodeList.SEX),
            r.code(gender, "pers_gender", CodeList.GENDER),
            r.code(eth, "pers_ethnicity", CodeList.ETHNICITY),
            born,
            due,
            died,
            number,
            valid,
            is_mother,
            r.file,
            r.row,
        )
        if not r.bad:
            yield row
        elif person_id:
            ctx.present_with_errors.append(person_id)


def read_mothers(tf: TableFile, ctx: ReadContext) -> Iterator[MotherRow]:
    table = open_table(tf, ctx, MOTHER_COLUMNS, MOTHER_REQUIRED)
    if table is None:
        return
    r, p, rows = table
    tid, mid, cid, cdob = (p[c] for c in MOTHER_COLUMNS)
    for _ in rows:
        link_id = r.ident(tid, "moth_table_id")
        mother_id = r.ident(mid, "moth_person_id")
        child_id = r.ident(cid, "moth_childs_person_id")
        r.not_own_child(mother_id, child_id, "moth_childs_person_id", "moth_person_id")
        child_dob = r.date(cdob, "moth_childs_dob", rule=True)
        if not r.bad:
            yield MotherRow(link_id, mother_id, child_id, child_dob, r.file, r.row)  # type: ignore[arg-type]


def read_legal_statuses(tf: TableFile, ctx: ReadContext) -> Iterator[LegalStatusRow]:
    table = open_table(tf, ctx, LEGAL_STATUS_COLUMNS, LEGAL_STATUS_REQUIRED)
    if table is None:
        return
    r, p, rows = table
    lid, pid, code_at, start, end = (p[c] for c in LEGAL_STATUS_COLUMNS)
    left_out = ctx.left_out
    youth_justice = codes.YOUTH_JUSTICE_LEGAL_STATUS
    for _ in rows:
        raw = r.text(code_at)
        if raw is not None and raw.strip().upper() in youth_justice:
            left_out["youth_justice_legal_status"] += 1
            continue
        status_id = r.ident(lid, "lega_legal_status_id")
        person_id = r.ident(pid, "lega_person_id")
        code = r.code(code_at, "lega_legal_status", CodeList.LEGAL_STATUS, expected=True)
        began = r.date(start, "lega_legal_status_start_date", rule=True, required=True)
        ended = r.date(end, "lega_legal_status_end_date", rule=True)
        if not r.bad:
            yield LegalStatusRow(status_id, person_id, code, began, ended, r.file, r.row)  # type: ignore[arg-type]


def read_episodes(tf: TableFile, ctx: ReadContext) -> Iterator[EpisodeRow]:
    table = open_table(tf, ctx, EPISODE_COLUMNS, EPISODE_REQUIRED)
    if table is None:
        return
    r, p, rows = table
    eid, pid, start, ceased, reason_at = (p[c] for c in EPISODE_COLUMNS)
    left_out = ctx.left_out
    youth_justice = codes.YOUTH_JUSTICE_CEASED
    for _ in rows:
        raw = r.text(reason_at)
        if raw is not None and raw.strip().upper() in youth_justice:
            left_out["youth_justice_episode"] += 1
            continue
        episode_id = r.ident(eid, "clae_cla_episode_id")
        person_id = r.ident(pid, "clae_person_id")
        began = r.date(start, "clae_cla_episode_start_date", rule=False)
        reason = r.code(reason_at, "clae_cla_episode_ceased_reason", CodeList.EPISODE_CEASED)
        ended = r.date(
            ceased, "clae_cla_episode_ceased_date", rule=True, required=reason is not None
        )
        if ended is not None and reason is None:
            r.unrecognised("clae_cla_episode_ceased_reason", CodeList.EPISODE_CEASED, "")  # ceased, but no reason given
        if not r.bad:
            yield EpisodeRow(episode_id, person_id, began, ended, reason, r.file, r.row)  # type: ignore[arg-type]


def read_addresses(tf: TableFile, ctx: ReadContext) -> Iterator[AddressRow]:
    table = open_table(tf, ctx, ADDRESS_COLUMNS, ADDRESS_REQUIRED)
    if table is None:
        return
    r, p, rows = table
    pid, code_at, start, end = (p[c] for c in ADDRESS_COLUMNS)
    for _ in rows:
        person_id = r.ident(pid, "addr_person_id")
        postcode = r.text(code_at)
        began = r.date(start, "addr_address_start_date", rule=False)
        ended = r.date(end, "addr_address_end_date", rule=False)
        if not r.bad:
            yield AddressRow(
                person_id,  # type: ignore[arg-type]
                normalise_postcode(postcode) if postcode else None,
                began,
                ended,
                r.file,
                r.row,
            )
