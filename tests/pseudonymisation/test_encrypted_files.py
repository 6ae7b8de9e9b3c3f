"""Encrypted upload files: round trip with random access; tampering, truncation, reordering and a
swapped file fail loudly."""

import io
import os
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pseudonymisation.encrypted_files import EncryptedFileReader, EncryptedFileWriter
from pseudonymisation.errors import DecryptionFailed
from pseudonymisation.keys import Keyring, KeyScope
from pseudonymisation.models import Purpose

pytestmark = pytest.mark.django_db
SCOPE = KeyScope(1, "uploads", Purpose.ENCRYPTION)


def write(path, data: bytes, file_id="f1", chunk=64, pieces=7):
    writer = EncryptedFileWriter(path, Keyring.load(SCOPE), file_id, chunk_size=chunk)
    for i in range(0, len(data), pieces):
        writer.write(data[i : i + pieces])
    writer.close()
    return writer


def read(path, file_id="f1") -> io.BufferedReader:
    return io.BufferedReader(EncryptedFileReader(path, Keyring.load(SCOPE), file_id))


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=600), positions=st.lists(st.integers(min_value=0, max_value=700), max_size=5))
def test_property_round_trip_and_random_access(tmp_path_factory, data, positions):
    path = tmp_path_factory.mktemp("enc") / "upload.bin"
    assert write(path, data).size == len(data)
    with read(path) as f:
        assert f.read() == data
        for p in positions:
            f.seek(p)
            assert f.read(10) == data[p : p + 10]


def test_a_zip_inside_reads_through_random_access(tmp_path):
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as z:
        z.writestr("ssd_person.csv", "pers_person_id\nP1\n" * 500)
    path = tmp_path / "extract.zip"
    write(path, raw.getvalue(), chunk=1024, pieces=333)
    with read(path) as f, zipfile.ZipFile(f) as z:
        assert z.read("ssd_person.csv").startswith(b"pers_person_id\nP1")


@pytest.mark.parametrize("damage", ["flip", "truncate", "drop_last_chunk", "swap_chunks"])
def test_damage_fails_loudly(tmp_path, damage):
    path = tmp_path / "f.bin"
    write(path, os.urandom(300), chunk=64)
    blob = bytearray(path.read_bytes())
    header, step = 17, 64 + 16
    if damage == "flip":
        blob[header + 5] ^= 1
    elif damage == "truncate":
        del blob[-5:]
    elif damage == "drop_last_chunk":
        del blob[header + 4 * step :]
    else:
        blob[header : header + step], blob[header + step : header + 2 * step] = (
            blob[header + step : header + 2 * step], blob[header : header + step])
    path.write_bytes(bytes(blob))
    with pytest.raises(DecryptionFailed), read(path) as f:
        f.read()


def test_another_files_id_fails(tmp_path):
    path = tmp_path / "f.bin"
    write(path, b"synthetic data" * 10, file_id="extract-1/0")
    with pytest.raises(DecryptionFailed), read(path, file_id="extract-2/0") as f:
        f.read()


def test_the_file_on_disk_is_private(tmp_path):
    path = tmp_path / "f.bin"
    write(path, b"x")
    assert oct(path.stat().st_mode)[-3:] == "600"
