"""Field encryption: round trip; tampering, row swaps and field swaps fail; wrong, missing and
destroyed keys are loud; rotation keeps old data readable and re-encryption moves it on."""

from datetime import date

import pytest
from django.core.management import call_command
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from pseudonymisation import keys
from pseudonymisation.blind_index import BlindIndexer, IndexKind
from pseudonymisation.encryption import FieldCipher, binding, key_version_of
from pseudonymisation.errors import (
    DecryptionFailed,
    KeyDestroyed,
    KeyUnavailable,
    MasterSecretMissing,
)
from pseudonymisation.fields import Protector
from pseudonymisation.keys import Keyring, KeyScope
from pseudonymisation.models import Purpose, ReencryptionRun
from pseudonymisation.reencryption import reencrypt_model
from tests.testapp.models import ProtectedCase

pytestmark = pytest.mark.django_db
SCOPE = KeyScope(1, "trust", Purpose.ENCRYPTION)
AAD = binding("testapp.protectedcase", "surname", "row-1")


def cipher(scope=SCOPE) -> FieldCipher:
    return FieldCipher(Keyring.load(scope))


def test_round_trip_and_no_plaintext_in_the_ciphertext():
    c = cipher()
    ct = c.encrypt("Siân O'Brien", AAD)
    assert b"Si" not in ct and c.decrypt(ct, AAD) == "Siân O'Brien"
    assert c.encrypt("same", AAD) != c.encrypt("same", AAD)  # random nonce
    assert key_version_of(ct) == 1


def test_tampering_fails():
    c = cipher()
    ct = bytearray(c.encrypt("Synthetic", AAD))
    for position in (0, 3, 10, 20, len(ct) - 1):
        altered = bytearray(ct)
        altered[position] ^= 0x01
        with pytest.raises((DecryptionFailed, KeyUnavailable)):
            c.decrypt(bytes(altered), AAD)
    with pytest.raises(DecryptionFailed):
        c.decrypt(bytes(ct[:10]), AAD)


def test_a_ciphertext_moved_to_another_row_or_field_fails():
    c = cipher()
    ct = c.encrypt("Synthetic", AAD)
    with pytest.raises(DecryptionFailed):
        c.decrypt(ct, binding("testapp.protectedcase", "surname", "row-2"))
    with pytest.raises(DecryptionFailed):
        c.decrypt(ct, binding("testapp.protectedcase", "forename", "row-1"))


def test_another_scopes_key_fails():
    ct = cipher().encrypt("Synthetic", AAD)
    with pytest.raises(DecryptionFailed):
        cipher(KeyScope(2, "trust", Purpose.ENCRYPTION)).decrypt(ct, AAD)


def test_a_wrong_or_missing_master_secret_is_loud():
    cipher()
    with override_settings(PORTAL_SECRETS={"PORTAL_ENCRYPTION_SECRET": "y" * 48}), pytest.raises(KeyUnavailable):
        cipher()
    with override_settings(PORTAL_SECRETS={}), pytest.raises(MasterSecretMissing, match="PORTAL_ENCRYPTION_SECRET"):
        cipher()


def test_a_destroyed_key_is_loud():
    ct = cipher().encrypt("Synthetic", AAD)
    keys.destroy(SCOPE)
    with pytest.raises(KeyDestroyed):
        cipher().decrypt(ct, AAD)


def test_rotation_old_data_readable_new_data_on_the_new_version():
    old = cipher().encrypt("Synthetic", AAD)
    keys.rotate(SCOPE)
    c = cipher()
    assert c.decrypt(old, AAD) == "Synthetic"
    assert key_version_of(c.encrypt("Synthetic", AAD)) == 2
    assert c.needs_reencryption(old)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=200), row=st.uuids(), other=st.uuids())
def test_property_round_trip_and_binding(text, row, other):
    c = FieldCipher(Keyring.load(KeyScope(7, "trust", Purpose.ENCRYPTION)))
    aad = binding("m", "f", str(row))
    ct = c.encrypt(text, aad)
    assert c.decrypt(ct, aad) == text
    if other != row:
        with pytest.raises(DecryptionFailed):
            c.decrypt(ct, binding("m", "f", str(other)))


# --- blind indexes --------------------------------------------------------------------------
def test_blind_indexes_match_normalised_values_and_differ_by_key():
    ix = BlindIndexer(Keyring.load(KeyScope(1, "trust", Purpose.BLIND_INDEX)))
    assert ix.index(IndexKind.NHS_NUMBER, "943 476 5919") == ix.index(IndexKind.NHS_NUMBER, "9434765919")
    assert ix.index(IndexKind.PERSON_ID, " p-001 ") == ix.index(IndexKind.PERSON_ID, "P-001")
    dob = date(1990, 2, 3)
    assert ix.index(IndexKind.SURNAME_DOB, ("O'Brien", dob)) == ix.index(IndexKind.SURNAME_DOB, ("obrien", dob))
    assert ix.index(IndexKind.SURNAME_DOB, ("Siân", dob)) == ix.index(IndexKind.SURNAME_DOB, ("SIAN", dob))
    assert ix.index(IndexKind.SURNAME_DOB, ("Sian", dob)) != ix.index(IndexKind.SURNAME_DOB, ("Sian", date(1990, 2, 4)))
    other = BlindIndexer(Keyring.load(KeyScope(2, "trust", Purpose.BLIND_INDEX)))
    assert other.index(IndexKind.PERSON_ID, "P-001") != ix.index(IndexKind.PERSON_ID, "P-001")
    assert ix.index(IndexKind.PERSON_ID, "P-001").startswith("v1:")
    with pytest.raises(ValueError):
        ix.index(IndexKind.NHS_NUMBER, "12345")


# --- protected models: classification-driven fields, rotation, resumable re-encryption ------
@pytest.fixture
def cases(programme):
    protector = Protector.load(programme.pk, "trust")
    rows = []
    for n in range(12):
        row = ProtectedCase(programme=programme, age_band="25-29")
        row.protect(protector, trust_person_id=f"P{n:04d}", surname=f"Synthetic{n}", date_of_birth=date(1990, 1, n + 1),
                    nhs_number="9434765919" if n == 0 else None)
        row.save()
        rows.append(row)
    return rows


def test_protected_rows_store_no_plaintext_and_search_by_blind_index(programme, cases):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT * FROM testapp_protectedcase")
        dump = repr(cur.fetchall())
    assert "Synthetic" not in dump and "P0003" not in dump and "9434765919" not in dump
    protector = Protector.load(programme.pk, "trust")
    terms = protector.indexer.search_terms(IndexKind.PERSON_ID, "p0003")
    found = ProtectedCase.objects.get(person_id_index__in=terms)
    assert found.reveal(protector, "surname") == "Synthetic3"
    assert found.reveal(protector, "date_of_birth") == "1990-01-04"
    assert ProtectedCase.objects.get(nhs_number_index__in=protector.indexer.search_terms(IndexKind.NHS_NUMBER, "943 476 5919")) == cases[0]
    assert cases[1].nhs_number is None and cases[1].nhs_number_index is None


def test_rotation_then_resumable_reencryption_moves_every_row(programme, cases):
    keys.rotate(KeyScope(programme.pk, "trust", Purpose.ENCRYPTION))
    keys.rotate(KeyScope(programme.pk, "trust", Purpose.BLIND_INDEX))
    protector = Protector.load(programme.pk, "trust")
    # Old data stays readable before re-encryption.
    assert ProtectedCase.objects.get(pk=cases[5].pk).reveal(protector, "surname") == "Synthetic5"
    lines = []
    changed = reencrypt_model(ProtectedCase, batch_size=5, progress=lines.append, stop_after_batches=1)
    assert changed == 5
    run = ReencryptionRun.objects.get(finished_at__isnull=True)
    assert run.rows_done == 5  # stopped part-way; the next call resumes from last_pk
    changed = reencrypt_model(ProtectedCase, batch_size=5, progress=lines.append)
    assert changed == 7 and "done (12 rows checked)" in lines[-1]
    protector = Protector.load(programme.pk, "trust")
    for row in ProtectedCase.objects.all():
        assert key_version_of(bytes(row.surname)) == 2
        assert row.person_id_index.startswith("v2:")
        assert row.reveal(protector, "trust_person_id").startswith("P")
    terms = protector.indexer.search_terms(IndexKind.SURNAME_DOB, ("synthetic7", date(1990, 1, 8)))
    assert ProtectedCase.objects.filter(surname_dob_index__in=terms).count() == 1


def test_the_reencrypt_command_reports_progress(programme, cases, capsys):
    keys.rotate(KeyScope(programme.pk, "trust", Purpose.ENCRYPTION))
    call_command("rotate_data_key", "--programme", str(programme.pk), "--phase", "trust", "--purpose", "blind_index")
    call_command("reencrypt_fields", "--batch-size", "4")
    out = capsys.readouterr().out
    assert "12/12 rows checked" in out and "Re-encrypted 12 rows." in out


def test_destroying_keys_needs_confirmation_and_is_recorded(programme, cases):
    from django.core.management.base import CommandError

    from audit.core.models import AuditEntry

    with pytest.raises(CommandError, match="--yes-destroy"):
        call_command("destroy_data_keys", "--programme", str(programme.pk), "--phase", "trust", "--purpose", "encryption")
    call_command("destroy_data_keys", "--programme", str(programme.pk), "--phase", "trust", "--purpose", "encryption", "--yes-destroy")
    assert AuditEntry.objects.filter(reason__contains="destroyed").exists()
    with pytest.raises(KeyDestroyed):
        Protector.load(programme.pk, "trust")


def test_the_classification_drives_what_must_be_encrypted():
    from django.db import models as m
    from django.test.utils import isolate_apps

    from pseudonymisation.checks import protection_problems
    from pseudonymisation.fields import EncryptedField, ProtectedModel

    assert protection_problems(ProtectedCase) == []
    with isolate_apps("tests.testapp"):

        class Leaky(ProtectedModel):
            forename = m.CharField(max_length=50)
            surname = EncryptedField()
            ethnicity = EncryptedField()
            data_classification = {"id": "safe", "row_uid": "safe", "forename": "direct identifier",
                                   "surname": "direct identifier", "ethnicity": "safe"}

            class Meta:
                app_label = "testapp"

        assert protection_problems(Leaky) == [
            "forename is classified a direct identifier but is not an EncryptedField",
            "ethnicity is encrypted but classified 'safe'",
        ]
