"""An audit entry's canonical form and its digest: what a link of the hash chain seals (ADR 14).

The canonical text of an entry is what PostgreSQL's COPY prints for it: the line of its columns
(`ENTRY_COLUMNS`, in that order) and then the line of each of its subjects, sorted by code point —

    COPY (SELECT <ENTRY_COLUMNS> FROM audit_auditentry WHERE id = X) TO STDOUT
    COPY (SELECT subject FROM audit_auditsubject WHERE entry_id = X ORDER BY subject COLLATE "C") TO STDOUT

in COPY's text format: fields separated by a tab, each line ended by a newline, NULL as `\\N`,
and in a value a backslash doubled and backspace, form feed, newline, carriage return, tab and
vertical tab written as `\\b \\f \\n \\r \\t \\v` — so the text can be read back: no two entries
share one. A field is its column's text in the database under fixed session settings (`SESSION`:
UTC, ISO dates, UTF-8): on PostgreSQL, the output of the column's type; on SQLite
(the tests and the demo), `CAST(column AS TEXT)`, i.e. what Django stored. The digest is the
SHA-256 (hex) of the text's UTF-8 bytes.

PostgreSQL streams the lines and Python hashes them as they come (`copy_digest`): the sealer's
batch and the verifier's single pass read the same bytes, and no row becomes Python objects.
The subjects come aggregated beside the entry's line (an array, unsorted: sorting in the
database costs more than here). Elsewhere `canonical_text` builds the same text from the
columns' texts; the tests check that the two agree on PostgreSQL.
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from django.db import connection, transaction

ENTRY_COLUMNS = (  # every column; the time second, where the verifier finds it cheaply
    "id", "timestamp", "content_type_id", "object_pk", "object_id", "object_repr", "serialized_data", "action",
    "changes_text", "changes", "actor_id", "cid", "remote_addr", "remote_port", "additional_data", "actor_email",
    "event", "role", "organisation_id", "programme_id", "phase", "request_id", "page", "status_code", "reason",
    "subject_count",
)
# Every setting the columns' text depends on, fixed for the transaction. They are PostgreSQL's and
# Django's own defaults (Django connects in UTC and UTF-8), so the rest of the transaction sees
# nothing new.
SESSION = (("TimeZone", "UTC"), ("DateStyle", "ISO, YMD"), ("IntervalStyle", "postgres"),
           ("extra_float_digits", "1"), ("client_encoding", "UTF8"))
NULL = b"\\N"
# The entry's subjects as an array (NULL when it has none), for the entry row `e` ...
SUBJECTS_OF = "(SELECT pg_catalog.array_agg(s.subject) FROM audit_auditsubject s WHERE s.entry_id = e.id)"
# ... and for every entry at once, to join on entry_id (a merge join, in one pass).
SUBJECTS_BY_ENTRY = ("(SELECT entry_id, pg_catalog.array_agg(subject) AS subjects FROM audit_auditsubject "
                     "GROUP BY entry_id)")
ENTRY_FIELDS = ", ".join(f'e."{c}"' for c in ENTRY_COLUMNS)
_COPY_ESCAPES = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
_COPY_TABLE = str.maketrans(_COPY_ESCAPES)
_ARRAY_QUOTED = frozenset('"\\{},' + " \t\n\r\v\f")  # what makes array_out quote an element
_COPY_UNESCAPES = {v.encode()[1:]: k.encode() for k, v in _COPY_ESCAPES.items()}


# --- the canonical text, from the columns' texts ---------------------------------------------
def copy_field(value: str | None) -> str:
    """A value as COPY's text format writes it."""
    return "\\N" if value is None else value.translate(_COPY_TABLE)


def canonical_text(values: Sequence[str | None], subjects: Iterable[str]) -> str:
    lines = ["\t".join(copy_field(v) for v in values)]
    lines += [copy_field(s) for s in sorted(subjects)]
    return "\n".join(lines) + "\n"


def digest(values: Sequence[str | None], subjects: Iterable[str]) -> str:
    return hashlib.sha256(canonical_text(values, subjects).encode()).hexdigest()


def array_text(values: Iterable[str]) -> str:
    """PostgreSQL's text form of a one-dimensional text array (array_out), e.g. {a,"b c"}."""
    return "{" + ",".join(_array_element(v) for v in values) + "}"


def _array_element(value: str) -> str:
    if value and value.encode().lower() != b"null" and not any(c in _ARRAY_QUOTED for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- the same from a COPY stream -------------------------------------------------------------
def _copy_unescape(field: bytes) -> bytes:
    if b"\\" not in field:
        return field
    out, parts = [], field.split(b"\\\\")
    for part in parts:  # no escape spans a doubled backslash
        pieces = part.split(b"\\")
        out.append(pieces[0] + b"".join(_COPY_UNESCAPES[p[:1]] + p[1:] for p in pieces[1:]))
    return b"\\".join(out)


def _array_elements(text: str) -> list[str]:
    """The elements of PostgreSQL's text form of a one-dimensional text array, e.g. {a,"b c"}."""
    elements, i, end = [], 1, len(text) - 1
    while i < end:
        if text[i] == '"':
            i, chars = i + 1, []
            while text[i] != '"':
                if text[i] == "\\":
                    i += 1
                chars.append(text[i])
                i += 1
            elements.append("".join(chars))
            i += 2  # the closing quote and the comma
        else:
            comma = text.find(",", i)
            comma = end if comma < 0 else comma
            elements.append(text[i:comma])
            i = comma + 1
    return elements


def subject_lines(field: bytes) -> bytes:
    """The subjects' sorted COPY lines, from the COPY field of their array (NULL: no subjects)."""
    if field == NULL:
        return b""
    if b'"' not in field and b"\\" not in field:  # no element quoted or escaped: each is as COPY writes it
        return b"\n".join(sorted(field[1:-1].split(b","))) + b"\n"
    elements = _array_elements(_copy_unescape(field).decode())
    return "".join(copy_field(s) + "\n" for s in sorted(elements)).encode()


def copy_digest(entry_line: bytes, subjects_field: bytes) -> bytes:
    """The digest (hex, as bytes) of an entry from its COPY line (no newline) and its subjects'."""
    return binascii.hexlify(hashlib.sha256(entry_line + b"\n" + subject_lines(subjects_field)).digest())


# --- digests of entries by id -----------------------------------------------------------------
def fix_session(cursor) -> None:
    """Fix, for the current transaction, every setting the columns' text depends on (PostgreSQL)."""
    for name, value in SESSION:
        cursor.execute("SELECT pg_catalog.set_config(%s, %s, true)", [name, value])


def _chunks(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield [int(i) for i in ids[start:start + size]]


def entry_texts(ids: Sequence[int]) -> dict[int, tuple[list[str | None], list[str]]]:
    """Each entry's column texts (the database's own text form) and subjects, by id."""
    # On PostgreSQL the type's output function (what COPY prints): concat() calls it; a cast to
    # text need not (inet's shows the netmask: 2001:db8::1/128).
    cast = ('CASE WHEN "{0}" IS NULL THEN NULL ELSE pg_catalog.concat("{0}") END' if connection.vendor == "postgresql"
            else 'CAST("{0}" AS TEXT)')
    columns = ", ".join(cast.format(c) for c in ENTRY_COLUMNS)
    out: dict[int, tuple[list[str | None], list[str]]] = {}
    with transaction.atomic(), connection.cursor() as cur:  # a transaction: fix_session's settings are local
        if connection.vendor == "postgresql":
            fix_session(cur)
        for chunk in _chunks(ids, 900):
            marks = ", ".join(["%s"] * len(chunk))
            cur.execute(f"SELECT id, {columns} FROM audit_auditentry WHERE id IN ({marks})", chunk)  # noqa: S608
            for row in cur.fetchall():
                out[row[0]] = (list(row[1:]), [])
            cur.execute(f"SELECT entry_id, subject FROM audit_auditsubject WHERE entry_id IN ({marks})",  # noqa: S608
                        chunk)
            for entry_id, subject in cur.fetchall():
                out[entry_id][1].append(subject)
    return out


def python_digests(ids: Sequence[int]) -> dict[int, str]:
    """The digests built here from the database's text of each column (any database)."""
    return {entry_id: digest(values, subjects) for entry_id, (values, subjects) in entry_texts(ids).items()}


def _months_of(times: Sequence[datetime]) -> tuple[str, str]:
    """Bounds on the entries' and their subjects' times, as literals (datetime.isoformat writes
    digits and separators only), so that PostgreSQL reads the months they span and no other."""
    low, high = min(times), max(times)
    return (f" AND e.\"timestamp\" >= '{low.isoformat()}'::timestamptz AND e.\"timestamp\" <= '{high.isoformat()}'::timestamptz",
            f" AND s.entry_time >= '{low.isoformat()}'::timestamptz AND s.entry_time <= '{high.isoformat()}'::timestamptz")


def digests_select(ids: Sequence[int], times: Mapping[int, datetime] | None) -> str:
    """The SELECT whose COPY gives these entries' subjects and lines (within their months, given
    their times)."""
    wanted = "'{" + ",".join(str(int(i)) for i in ids) + "}'::bigint[]"
    entries_within, subjects_within = _months_of([times[i] for i in ids]) if times else ("", "")
    subjects = SUBJECTS_OF[:-1] + subjects_within + ")"
    return (f"SELECT {subjects}, {ENTRY_FIELDS} FROM audit_auditentry e "  # noqa: S608 - ints, times
            f"WHERE e.id = ANY({wanted}){entries_within}")


def copy_digests(ids: Sequence[int], times: Mapping[int, datetime] | None = None) -> dict[int, str]:
    """The digests from PostgreSQL's COPY of the entries (what the verifier reads). With `times`
    (each id's entry time, as the sealer read it), only the months those times span are read:
    at 2M entries over 77 months a batch of 5,000 took 10.2-11.0 s reading every month, 50 ms
    reading its own (ADR 55). A subject is still found by its entry's id, as verification finds it."""
    out: dict[int, str] = {}
    with transaction.atomic(), connection.cursor() as cur:
        fix_session(cur)
        for chunk in _chunks(ids, 10_000):
            with cur.cursor.copy(f"COPY ({digests_select(chunk, times)}) TO STDOUT") as copy:
                for line in _copy_lines(copy):
                    subjects_field, entry_line = line.split(b"\t", 1)
                    out[int(entry_line[:entry_line.index(b"\t")])] = copy_digest(entry_line, subjects_field).decode()
    return out


def _copy_lines(copy) -> Iterable[bytes]:
    rest = b""
    for block in copy:
        data = rest + bytes(block) if rest else bytes(block)
        lines = data.split(b"\n")
        rest = lines.pop()
        yield from lines


def entry_digests(ids: Sequence[int], times: Mapping[int, datetime] | None = None) -> dict[int, str]:
    """SHA-256 of each entry's canonical text, by id; an id with no entry (or, given `times`, none
    at its time's month) is absent."""
    return copy_digests(ids, times) if connection.vendor == "postgresql" else python_digests(ids)
