"""The upload as a whole: each refusal that needs no parsing, decided before any row is read."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from eligibility.extract import Code, ExtractFormat, Limits, Table, read_extract
from eligibility.extract import sources as sources_module
from eligibility.extract.bundle import open_bundle
from eligibility.extract.files import Guarded
from eligibility.extract.problems import ExtractRefused, FileUnreadable
from tests.eligibility.extracts import TODAY, Ssd, flat_csv, flat_rows, upload, zip_bytes


def refusal(files, limits=None) -> ExtractRefused:
    with pytest.raises(ExtractRefused) as caught:
        open_bundle(files, limits)
    return caught.value


def only(refused: ExtractRefused, code: Code):
    found = [p for p in refused.problems if p.code == code]
    assert found, refused.problems
    return found[0]


@pytest.fixture
def no_parsing(monkeypatch):
    """Any attempt to read rows fails the test: the refusal must come first."""

    def boom(*args, **kwargs):
        raise AssertionError("rows were read")

    monkeypatch.setattr(sources_module, "_csv_rows", boom)
    monkeypatch.setattr(sources_module, "_xlsx_rows", boom)


def test_nothing_selected():
    assert only(refusal([]), Code.NO_FILE).message == "Select a CSV, XLSX or ZIP file"


def test_wrong_type_among_several_files_is_named():
    problem = only(refusal(Ssd().files() + upload(("notes.docx", b"x"))), Code.WRONG_TYPE)
    assert (
        problem.message == "notes.docx must be a CSV, XLSX or ZIP" and problem.file == "notes.docx"
    )


def test_csv_that_is_really_a_zip():
    problem = only(refusal(upload(("cases.csv", zip_bytes({"a.csv": b"x"})))), Code.WRONG_TYPE)
    assert "looks like an XLSX or ZIP file" in problem.message


def test_over_the_size_limit(no_parsing):
    problem = only(refusal(Ssd().zip(), Limits(max_file_bytes=100)), Code.TOO_LARGE)
    assert problem.message == "The selected file must be smaller than 100 bytes"
    assert Limits().max_file_bytes == 200 * 1024**2


def test_size_limit_applies_to_each_file(no_parsing):
    files = Ssd().files()
    sizes = sorted(len(f.getvalue()) for _, f in files)
    problem = only(refusal(files, Limits(max_file_bytes=sizes[-2])), Code.TOO_LARGE)
    assert problem.message == f"ssd_person.csv must be smaller than {sizes[-2]} bytes"
    assert open_bundle(Ssd().files(), Limits(max_file_bytes=sizes[-1])).format is ExtractFormat.SSD
    from eligibility.extract.problems import size_text

    assert size_text(200 * 1024**2) == "200MB" and size_text(1024**3) == "1GB"


def test_empty_upload_and_empty_zip_entry(no_parsing):
    assert only(refusal(upload(("extract.zip", b""))), Code.FILE_EMPTY).message == (
        "The selected file is empty"
    )
    entries = dict(Ssd().named())
    entries["ssd_mother.csv"] = b""
    problem = only(refusal(upload(("extract.zip", zip_bytes(entries)))), Code.FILE_EMPTY)
    assert problem.message == "ssd_mother.csv in the ZIP file is empty"


def test_zip_that_is_not_a_zip(no_parsing):
    problem = only(refusal(upload(("extract.zip", b"PK\x03\x04garbage"))), Code.BROKEN_ZIP)
    assert problem.message == "The ZIP file cannot be opened. It may be damaged"
    only(refusal(upload(("extract.zip", b"hello"))), Code.BROKEN_ZIP)


def test_zip_with_too_many_entries(no_parsing):
    entries = dict(Ssd().named()) | {f"folder{i}/": b"" for i in range(17)}
    problem = only(refusal(upload(("extract.zip", zip_bytes(entries)))), Code.ZIP_TOO_MANY_FILES)
    assert problem.message == "The ZIP file must contain no more than 20 files"


def test_zip_too_large_when_unzipped_by_its_declared_sizes(no_parsing):
    entries = dict(Ssd().named())
    entries["ssd_address.csv"] = b"addr_person_id,addr_address_postcode\r\n" + b" " * 3_000_000
    data = zip_bytes(entries)
    assert len(data) < 100_000  # small on the way in: a (mild) zip bomb
    limits = Limits(max_unzipped_bytes=2 * 1024**2)
    problem = only(refusal(upload(("extract.zip", data)), limits), Code.ZIP_TOO_LARGE)
    assert problem.message == "The ZIP file must be smaller than 2MB when unzipped"


def _understate_size(data: bytes, name: bytes, size: int) -> bytes:
    """Rewrite the uncompressed size a ZIP file declares for ``name`` (local header and
    central directory), as a zip bomb would."""
    out = bytearray(data)
    local = out.find(b"PK\x03\x04")
    while local >= 0:
        n = struct.unpack_from("<H", out, local + 26)[0]
        if out[local + 30 : local + 30 + n] == name:
            struct.pack_into("<I", out, local + 22, size)
        local = out.find(b"PK\x03\x04", local + 4)
    central = out.find(b"PK\x01\x02")
    while central >= 0:
        n = struct.unpack_from("<H", out, central + 28)[0]
        if out[central + 46 : central + 46 + n] == name:
            struct.pack_into("<I", out, central + 24, size)
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


def test_zip_entry_that_unzips_to_more_than_it_declares_is_stopped_while_reading():
    entries = dict(Ssd().named())
    entries["ssd_address.csv"] = (
        b"addr_person_id,addr_address_postcode\r\n" + b"M1,LS1\r\n" * 50_000
    )
    data = _understate_size(zip_bytes(entries), b"ssd_address.csv", 10_000)
    bundle = open_bundle(upload(("extract.zip", data)))  # declared sizes pass
    assert [f.size for f in bundle.files if f.table is Table.ADDRESS] == [10_000]
    reading = read_extract(upload(("extract.zip", data)), today=TODAY)
    assert not reading.ok
    problem = [p for p in reading.errors if p.file == "ssd_address.csv"][0]
    assert problem.code in (Code.BROKEN_ZIP, Code.ZIP_TOO_LARGE)
    assert not list(reading.record_counts) or "address" not in reading.record_counts


def test_guard_enforces_its_cap_while_reading():
    guard = Guarded(io.BytesIO(b"x" * 10), 5, "{file} is too large")  # type: ignore[arg-type]
    assert guard.read(5) == b"xxxxx"
    with pytest.raises(FileUnreadable) as caught:
        guard.read(5)
    assert caught.value.code is Code.ZIP_TOO_LARGE
    assert caught.value.for_file("a.csv") == "a.csv is too large"


@pytest.mark.parametrize("second", ["ssd_person.csv", "SSD_Person.CSV", "folder/ssd_person.csv"])
def test_zip_with_duplicate_or_case_variant_names(second, no_parsing):
    entries = dict(Ssd().named())
    entries[second] = entries["ssd_person.csv"]
    with zipfile.ZipFile(out := io.BytesIO(), "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if second == "ssd_person.csv":
            with pytest.warns(UserWarning, match="Duplicate name"):
                archive.writestr(second, b"pers_person_id\r\n")
    problem = only(refusal(upload(("extract.zip", out.getvalue()))), Code.DUPLICATE_FILE)
    if second == "SSD_Person.CSV":
        assert (
            problem.message
            == "The ZIP file must not contain both ssd_person.csv and SSD_Person.CSV"
        )
    else:  # the same name twice, or in a folder: folders do not make names different
        assert problem.message == "The ZIP file must not contain ssd_person.csv more than once"


def test_loose_files_with_case_variant_names(no_parsing):
    files = Ssd().named() + [("SSD_PERSON.csv", Ssd().table_bytes("ssd_person"))]
    problem = only(refusal(upload(*files)), Code.DUPLICATE_FILE)
    assert problem.message == (
        "ssd_person.csv and SSD_PERSON.csv have the same name. Select only one of them"
    )


@pytest.mark.parametrize(
    "name,data",
    [
        ("inner.zip", zip_bytes({"ssd_person.csv": b"x"})),
        ("ssd_address.csv", zip_bytes({"ssd_address.csv": b"x"})),  # a zip in disguise
        ("ssd_address.csv", b"\x1f\x8b\x08\x00" + b"\x00" * 20),  # gzip in disguise
        ("cases.xlsx", b"anything"),
    ],
)
def test_zip_with_nested_archive(name, data, no_parsing):
    entries = dict(Ssd().named()) | {name: data}
    problem = only(refusal(upload(("extract.zip", zip_bytes(entries)))), Code.NESTED_ARCHIVE)
    assert "must not contain other archives" in problem.message


@pytest.mark.parametrize(
    "name",
    ["../ssd_address.csv", "/etc/ssd_address.csv", "C:\\temp\\ssd_address.csv", "a/../../x.csv"],
)
def test_zip_with_path_traversal_name(name, no_parsing):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for n, data in Ssd().named():
            archive.writestr(n, data)
        info = zipfile.ZipInfo("placeholder")
        info.filename = name  # ZipInfo() would normalise it; a hostile tool does not
        archive.writestr(info, b"addr_person_id\r\n")
    problem = only(refusal(upload(("extract.zip", out.getvalue()))), Code.UNSAFE_NAME)
    assert problem.message.endswith(name)


def test_zip_with_password_protected_entry(no_parsing):
    data = bytearray(zip_bytes(dict(Ssd().named())))
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 8, struct.unpack_from("<H", data, central + 8)[0] | 1)
    problem = only(refusal(upload(("extract.zip", bytes(data)))), Code.ZIP_ENCRYPTED)
    assert problem.message == "The ZIP file must not be password protected"


def test_zip_with_a_file_that_is_not_csv(no_parsing):
    entries = dict(Ssd().named()) | {"readme.txt": b"hello"}
    problem = only(refusal(upload(("extract.zip", zip_bytes(entries)))), Code.WRONG_TYPE)
    assert problem.message == "readme.txt in the ZIP file must be a CSV file"


def test_mix_of_table_files_and_flat_template(no_parsing):
    files = Ssd().named() + [("cases.csv", flat_csv(flat_rows()))]
    problem = only(refusal(upload(*files)), Code.MIXED_FORMATS)
    assert problem.message == (
        "Upload either the SSD table files or one flat template, not both "
        "(cases.csv is not an SSD table file)"
    )
    entries = dict(files)
    only(refusal(upload(("extract.zip", zip_bytes(entries)))), Code.MIXED_FORMATS)


def test_two_flat_templates_or_a_zip_with_other_files(no_parsing):
    flat = flat_csv(flat_rows())
    problem = only(refusal(upload(("a.csv", flat), ("b.csv", flat))), Code.MIXED_FORMATS)
    assert problem.message == "Upload one flat template file at a time"
    only(refusal(Ssd().zip() + upload(("a.csv", flat))), Code.MIXED_FORMATS)


def test_unknown_table_name_is_refused_by_name(no_parsing):
    files = Ssd().named() + [("ssd_involvements.csv", b"invo_id\r\n1\r\n")]
    problem = only(refusal(upload(*files)), Code.UNKNOWN_TABLE)
    assert problem.message.startswith("ssd_involvements.csv is not an SSD table the portal reads")
    assert problem.file == "ssd_involvements.csv"


def test_missing_table(no_parsing):
    files = [f for f in Ssd().named() if f[0] != "ssd_cla_episodes.csv"]
    problem = only(refusal(upload(*files)), Code.MISSING_TABLE)
    assert problem.message == "The upload must include ssd_cla_episodes.csv"


def test_zip_of_tables_in_a_folder_with_macos_extras():
    entries = {f"Extract 2024/{n.upper()}": d for n, d in Ssd().named()}
    entries |= {"__MACOSX/Extract 2024/._ssd_person.csv": b"\x00\x05junk", "Extract 2024/": b"",
                "Extract 2024/.DS_Store": b"\x00"}  # fmt: skip
    bundle = open_bundle(upload(("extract.zip", zip_bytes(entries))))
    assert bundle.format is ExtractFormat.SSD and bundle.archive == "extract.zip"
    assert [f.table for f in bundle.files] == [
        Table.PERSON,
        Table.MOTHER,
        Table.LEGAL_STATUS,
        Table.EPISODE,
    ]
    reading = read_extract(upload(("extract.zip", zip_bytes(entries))), today=TODAY)
    assert reading.ok and reading.record_counts["person"] == 3


def test_format_decision():
    assert open_bundle(Ssd().files()).format is ExtractFormat.SSD
    flat = open_bundle(upload(("Cases March.CSV", flat_csv(flat_rows()))))
    assert flat.format is ExtractFormat.FLAT and flat.files[0].name == "Cases March.CSV"
    # a browser may send a path: only the base name counts
    assert open_bundle(upload(("C:\\Users\\x\\cases.csv", b"a"))).files[0].name == "cases.csv"


def test_zip_directory_too_big_for_its_declared_count_is_refused_before_zipfile_reads_it(
    monkeypatch, no_parsing
):
    entries = {f"{'d' * 1000}{i}.csv": b"x" for i in range(25)}  # a 26KB central directory
    honest = zip_bytes(entries)
    data = bytearray(honest)
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 5, 5)  # but it claims 5 entries

    def not_opened(*args, **kwargs):
        raise AssertionError("zipfile parsed the directory")

    monkeypatch.setattr(zipfile, "ZipFile", not_opened)
    problem = only(refusal(upload(("extract.zip", bytes(data)))), Code.ZIP_TOO_MANY_FILES)
    assert problem.message == "The ZIP file must contain no more than 20 files"
    assert only(refusal(upload(("extract.zip", honest))), Code.ZIP_TOO_MANY_FILES)
