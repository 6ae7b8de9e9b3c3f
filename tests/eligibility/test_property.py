"""Whatever is uploaded, reading it never crashes: it either reads, or is refused with our own
errors, and a refused extract yields no record."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eligibility.extract import ExtractRefused, Limits, read_extract
from tests.eligibility.extracts import TODAY, Ssd, csv_bytes, zip_bytes

SMALL = Limits(max_file_bytes=64 * 1024, max_unzipped_bytes=256 * 1024)
PROPERTY = settings(
    max_examples=int(__import__("os").environ.get("EXTRACT_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def check(files) -> None:
    reading = read_extract(files, today=TODAY, limits=SMALL)  # must not raise
    if reading.ok:
        for _ in reading.iter_records():  # must not raise either
            pass
    else:
        assert reading.errors
        try:
            next(reading.iter_records())
        except ExtractRefused:
            pass
        else:
            raise AssertionError("a refused reading yielded a record")


names = st.sampled_from(
    ["ssd_person.csv", "cases.csv", "extract.zip", "cases.xlsx", "ssd_mother.csv", "x.txt"]
)


@PROPERTY
@given(
    st.lists(
        st.tuples(
            names,
            st.one_of(
                st.binary(max_size=600), st.binary(max_size=600).map(lambda b: b"PK\x03\x04" + b)
            ),
        ),
        max_size=3,
    )
)
def test_random_bytes(uploads):
    check([(name, io.BytesIO(data)) for name, data in uploads])


@PROPERTY
@given(st.binary(max_size=400), st.sampled_from(["ssd_person.csv", "ssd_legal_status.csv"]))
def test_random_bytes_in_place_of_one_table(data, table):
    named = dict(Ssd().named())
    named[table] = data
    check([(n, io.BytesIO(d)) for n, d in named.items()])
    check([("extract.zip", io.BytesIO(zip_bytes(named)))])


cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["NULL", "", "??", " C2", "E11", "J1", "2019-03-04", "04/03/2019",
                     "2019-02-30", "M1", "C1", "C2", "L1", "9434765919", "0" * 49]),
)  # fmt: skip


@PROPERTY
@given(
    st.sampled_from(["ssd_person", "ssd_mother", "ssd_legal_status", "ssd_cla_episodes"]),
    st.lists(st.lists(cell, max_size=8), max_size=8),
    st.booleans(),
)
def test_random_csv_text_in_a_table(table, rows, keep_header):
    extract = Ssd()
    header = (
        extract.headers[table] if keep_header else [r[0] if r else "" for r in rows[:1]] or [""]
    )
    data = csv_bytes(header, rows)
    named = dict(extract.named())
    named[f"{table}.csv"] = data
    check([(n, io.BytesIO(d)) for n, d in named.items()])


@PROPERTY
@given(st.lists(st.lists(cell, min_size=15, max_size=15), max_size=6), st.sampled_from(
    ["utf-8", "cp1252", "utf-16"]))  # fmt: skip
def test_random_flat_template_text(rows, encoding):
    from eligibility.extract.flat import FLAT_COLUMNS

    try:
        data = csv_bytes(list(FLAT_COLUMNS), rows, encoding=encoding)
    except UnicodeEncodeError:
        data = csv_bytes(list(FLAT_COLUMNS), rows, encoding="utf-8")
    check([("cases.csv", io.BytesIO(data))])


def _valid_xlsx() -> bytes:
    from eligibility.extract.flat import FLAT_COLUMNS
    from tests.eligibility.extracts import flat_rows, xlsx_bytes

    return xlsx_bytes(list(FLAT_COLUMNS), [[r[c] for c in FLAT_COLUMNS] for r in flat_rows()])


VALID = {"cases.xlsx": _valid_xlsx(), "extract.zip": zip_bytes(dict(Ssd().named()))}


@PROPERTY
@given(
    st.sampled_from(sorted(VALID)),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_damaged_zip_and_xlsx_files(name, changes):
    data = bytearray(VALID[name])
    for position, value in changes:
        data[position % len(data)] = value
    check([(name, io.BytesIO(bytes(data)))])
