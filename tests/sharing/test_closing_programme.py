"""Closing a programme (issue 22, point 2; ADR 39): every row of its case data purged, its keys
destroyed but the tombstones' blind index, a purge certificate that re-checks; refused, changing
nothing, while a concern or a rights request is open. Tables are counted by raw SQL over the
database's own table list, so a store the code forgot is still counted."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from audit.core import certificates
from audit.core.models_certificates import PurgeCertificate, PurgeKind
from audit.core.models_rights import RightsRequest
from eligibility.disclosure import disclose
from eligibility.models import ErasedPerson, Extract, ExtractStatus, Woman
from pause_portal.tenancy.models import Phase
from pause_portal.tenancy.roles import Role
from pseudonymisation import keys
from pseudonymisation.fields import Protector
from pseudonymisation.models import DataKey, Purpose
from sharing import closing
from sharing.concern_hand_over import mark_filed
from sharing.concerns import acknowledge_concern, close_concern, raise_concern
from sharing.models_markers import DoNotApproachMarker
from sharing.models_scoping import ChangeStatus, PhaseChange
from sharing.phases import confirm_phase_change, propose_phase_change
from tests.audit.oversight.test_rights_world import RightsWorld
from tests.conftest import sign_in_verified
from tests.sharing.closing_world import (
    case_data_models,
    filled_world,
    programme_counts,
    table_counts,
)
from tests.sharing.delivery.world import delivery_world
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db

PURGED_TABLES = {apps.get_model(label)._meta.db_table for label in closing.purged_labels()}
KEPT_TABLES = {k.model._meta.db_table for k in closing.KEPT}
PARTLY_KEPT = PURGED_TABLES & KEPT_TABLES  # report drafts go, approved and sent reports stay
# Tables closing itself writes to: the audit trail, the certificate, the key custody log.
WRITTEN_BY_CLOSING = {"audit_auditentry", "audit_purgecertificate",
                      "pseudonymisation_keycustodyrecord"}


def _with_dpo(world) -> RightsWorld:
    return RightsWorld(delivery=world, dpo=member(world.programme, Role.DPO),
                       caseworker=member(world.programme, Role.TRUST_CASEWORKER))


def _close(w):
    change = propose_phase_change(programme=w.programme, by=w.delivery.trust_lead, reason="The programme ends",
                                  to_phase=Phase.CLOSED)
    confirm_phase_change(change=change, by=w.caldicott, justification="Synthetic justification")
    return change


def test_closing_leaves_exactly_the_kept_stores_by_a_raw_count_of_every_table(
        settings, tmp_path, django_capture_on_commit_callbacks):
    settings.PORTAL_UPLOAD_DIR = tmp_path
    other = filled_world("Other programme", tmp_path)
    before = table_counts()
    w = filled_world("Closing programme", tmp_path)
    p = w.programme
    upload = tmp_path / Extract.objects.filter(programme=p).exclude(upload_id="").get().upload_id
    full, full_p = table_counts(), programme_counts(p.pk)
    for table in PURGED_TABLES:  # every store has rows of this programme before it closes
        assert full[table] > before[table], table

    with django_capture_on_commit_callbacks(execute=True):
        change = _close(w)

    after, after_p = table_counts(), programme_counts(p.pk)
    p.refresh_from_db()
    assert p.phase == Phase.CLOSED
    kept_rows = {t: after[t] - before[t] for t in PARTLY_KEPT}
    assert kept_rows == {"sharing_finalreport": 1, "sharing_quarterlyreport": 1}
    for table in PURGED_TABLES:  # this programme's rows are gone, the other programme's untouched
        assert after[table] == before[table] + kept_rows.get(table, 0), table
        assert after_p.get(table, 0) == kept_rows.get(table, 0), table
    changed = {t for t in after if t not in PURGED_TABLES and after[t] != full[t]}
    # nothing else of anyone's is deleted (the move's confirmation is logged: the Caldicott log, ADR 45)
    assert changed == WRITTEN_BY_CLOSING | {"sharing_phasechange", "sharing_caldicottdecision"}
    for table, rows in after_p.items():  # what still names this programme: kept stores, or no case data
        if rows and table not in KEPT_TABLES:
            model = next(m for m in apps.get_models() if m._meta.db_table == table)
            assert model._meta.label not in case_data_labels(), table
    for kept in ("eligibility_erasedperson", "sharing_donotapproachmarker", "sharing_agreement",
                 "audit_rightsrequest", "audit_erasurerecord"):
        assert after_p[kept] == full_p[kept] > 0, kept
    assert after_p["audit_auditentry"] > full_p["audit_auditentry"]  # the trail is kept, and says what closed
    assert not RightsRequest.objects.filter(programme=p, woman__isnull=False).exists()
    assert not upload.exists()  # the kept upload is deleted from disk too
    assert Woman.objects.filter(programme=other.programme).count() == 5 - 1  # one erased there too

    certificate = PurgeCertificate.objects.get(programme=p, kind=PurgeKind.CLOSURE)
    assert certificates.digest_holds(certificate)
    assert certificate.purged_by == w.caldicott and certificate.trigger == f"phase change #{change.pk}"
    stated = {s["table"]: s["rows"] for s in certificate.stores if s["table"]}
    assert set(stated) == PURGED_TABLES
    for table in PURGED_TABLES:
        assert stated[table] == full_p.get(table, full[table] - before[table]) - after_p.get(table, 0), table
    assert {k["table"] for k in certificate.kept if k["table"]} == KEPT_TABLES
    assert any(r["where"].startswith("the main database's write-ahead log") for r in certificate.remains)
    assert any("blind-index key" in r["what"] for r in certificate.remains)
    certificate.stores[0]["rows"] += 1  # an edited certificate is found out
    assert not certificates.digest_holds(certificate)


def test_keys_are_destroyed_but_the_tombstones_blind_index(django_capture_on_commit_callbacks):
    w = delivery_world(women=2)
    rw = _with_dpo(w)
    rw.erase(rw.request("erasure", 1))
    other = delivery_world(women=1, name="Untouched")
    index = ErasedPerson.objects.get(programme=w.programme).person_id_index
    with django_capture_on_commit_callbacks(execute=True):
        _close(rw)
    p = w.programme.pk
    for phase, purpose in (("trust", Purpose.ENCRYPTION), ("trust", Purpose.TOKEN), ("delivery", Purpose.TOKEN)):
        scope = keys.KeyScope(p, phase, purpose)
        if DataKey.objects.filter(programme_id=p, phase=phase, purpose=purpose).exists():
            with pytest.raises(keys.KeyDestroyed):
                keys.Keyring.load(scope, create=False)
    with pytest.raises(keys.KeyDestroyed):  # identifiers of the programme can no longer be decrypted
        Protector.load(p, "trust", create=False)
    indexer = keys.Keyring.load(closing.kept_key_scope(w.programme), create=False)
    assert indexer is not None and ErasedPerson.objects.filter(person_id_index=index).exists()
    certificate = PurgeCertificate.objects.get(programme_id=p, kind=PurgeKind.CLOSURE)
    assert f"{p}/trust/blind_index" not in [k["scope"] for k in certificate.keys_destroyed]
    assert f"{p}/trust/encryption" in [k["scope"] for k in certificate.keys_destroyed]
    assert certificates.digest_holds(certificate)  # restated once the secrets left the key store
    Protector.load(other.programme.pk, "trust", create=False)  # the other programme's keys are live


def test_with_no_tombstone_the_blind_index_key_is_destroyed_too(django_capture_on_commit_callbacks):
    w = delivery_world(women=1)
    rw = _with_dpo(w)
    assert not ErasedPerson.objects.exists() and not DoNotApproachMarker.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        _close(rw)
    with pytest.raises(keys.KeyDestroyed):
        keys.Keyring.load(closing.kept_key_scope(w.programme), create=False)
    certificate = PurgeCertificate.objects.get(programme=w.programme)
    assert f"{w.programme.pk}/trust/blind_index" in [k["scope"] for k in certificate.keys_destroyed]
    assert not any("blind-index key" in r["what"] for r in certificate.remains)


# --- refused, changing nothing -------------------------------------------------------------------
def _concern(w, state):
    d = w.delivery
    concern = raise_concern(d.released[0], by=d.pause_lead, kind="safeguarding", summary="Synthetic concern")
    if state in ("acknowledged", "closed"):
        acknowledge_concern(concern, by=d.trust_lead)
    if state == "closed":
        close_concern(concern, by=d.trust_lead, closing_note="Synthetic")
    return concern


BLOCKERS = {
    "unacknowledged concern": (lambda w: _concern(w, "open"), "not yet acknowledged by the Trust"),
    "acknowledged open concern": (lambda w: _concern(w, "acknowledged"), "acknowledged but still open"),
    "closed concern not handed over": (lambda w: _concern(w, "closed"), "not yet handed to the Trust"),
    "open rights request": (lambda w: w.request("access"), "rights request is still open"),
    "extract importing": (lambda w: Extract.objects.filter(pk=w.delivery.cohort.book.extract.pk).update(
        status=ExtractStatus.RUNNING), "extract is still being imported"),
}


@pytest.mark.parametrize("blocker", list(BLOCKERS))
def test_closing_is_refused_for_each_blocker_and_changes_nothing(blocker, settings, tmp_path):
    settings.PORTAL_UPLOAD_DIR = tmp_path
    w = filled_world("Blocked", tmp_path)
    make, words = BLOCKERS[blocker]
    change = propose_phase_change(programme=w.programme, by=w.delivery.trust_lead, reason="Ends",
                                  to_phase=Phase.CLOSED)
    make(w)
    assert any(words in b for b in closing.closing_blockers(w.programme))
    before = table_counts()
    with pytest.raises(ValidationError, match=words):
        confirm_phase_change(change=change, by=w.caldicott, justification="Synthetic justification")
    assert table_counts() == before
    w.programme.refresh_from_db()
    assert w.programme.phase == Phase.DELIVERY
    assert PhaseChange.objects.get(pk=change.pk).status == ChangeStatus.PROPOSED
    Protector.load(w.programme.pk, "trust", create=False)  # keys untouched
    with pytest.raises(closing.ClosingRefused, match=words):
        closing.close_programme(w.programme, by=w.caldicott, trigger="test")
    assert table_counts() == before
    # proposing is refused too, and the phase page says why
    PhaseChange.objects.filter(pk=change.pk).update(status=ChangeStatus.WITHDRAWN)
    with pytest.raises(ValidationError, match=words):
        propose_phase_change(programme=w.programme, by=w.delivery.trust_lead, reason="Ends", to_phase=Phase.CLOSED)
    body = sign_in_verified(Client(), w.delivery.trust_lead).get(reverse("governance:phase")).content.decode()
    assert 'id="closing-blockers"' in body and words in body


def test_a_filed_concern_no_longer_blocks(settings, tmp_path):
    w = filled_world("Filed", tmp_path)
    concern = _concern(w, "closed")
    assert closing.closing_blockers(w.programme)
    mark_filed(concern, by=w.delivery.trust_lead)
    assert closing.closing_blockers(w.programme) == []


# --- pages after closing -------------------------------------------------------------------------
def test_pages_after_closing_show_it_closed_and_serve_no_case_data(settings, tmp_path,
                                                                   django_capture_on_commit_callbacks):
    settings.PORTAL_UPLOAD_DIR = tmp_path
    w = filled_world("Closed pages", tmp_path)
    d = w.delivery
    with django_capture_on_commit_callbacks(execute=True):
        _close(w)
    lead = sign_in_verified(Client(), d.trust_lead)
    body = lead.get(reverse("governance:phase")).content.decode()
    assert 'id="programme-closed"' in body and "Phase: closed" in body
    for person, pages in ((d.pause_lead, ("delivery:women", "scoping:rows")),
                          (d.practitioners[0], ("delivery:caseload",)),
                          (w.caseworker, ("eligibility:queue",)),
                          (d.trust_lead, ("casework:concerns",))):
        client = sign_in_verified(Client(), person)
        for page in pages:
            response = client.get(reverse(page))
            text = response.content.decode()
            assert not any(i in text for i in d.cohort.identifiers), page
    assert list(disclose(d.pause_lead, Woman.objects.all(), page="test")) == []


def case_data_labels() -> set[str]:
    return {m._meta.label for m in case_data_models()}


def test_when_the_last_marker_goes_the_kept_blind_index_key_is_destroyed_with_a_certificate(
        django_capture_on_commit_callbacks):
    """ADR 39: the blind-index key is kept only as long as the tombstones are. A closed programme
    whose only tombstone is a do-not-approach marker loses the key on the retention run that
    deletes the marker; a second run destroys nothing more."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from sharing.models_scoping import Agreement
    from sharing.retention import apply_retention

    w = delivery_world(women=1)
    rw = _with_dpo(w)
    now = timezone.now()
    DoNotApproachMarker.objects.create(programme=w.programme, person_id_index="v1:" + "ab" * 16, kind="declined",
                                       ended_at=now - timedelta(days=1), until=now + timedelta(days=10),
                                       period="2 years (the agreement's do_not_approach period)")
    with django_capture_on_commit_callbacks(execute=True):
        _close(rw)
    keys.Keyring.load(closing.kept_key_scope(w.programme), create=False)  # kept for the marker
    Agreement.objects.filter(programme=w.programme).update(retention={"delivery_records": "30 days"})
    with time_machine.travel(now + timedelta(days=11), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            apply_retention(w.programme, dry_run=False, trigger="beat")
        assert not DoNotApproachMarker.objects.filter(programme=w.programme).exists()
        with pytest.raises(keys.KeyDestroyed):
            keys.Keyring.load(closing.kept_key_scope(w.programme), create=False)
        last = PurgeCertificate.objects.filter(programme=w.programme, kind=PurgeKind.CLOSURE).order_by("-pk").first()
        assert [k["scope"] for k in last.keys_destroyed] == [f"{w.programme.pk}/trust/blind_index"]
        assert last.trigger.startswith("last tombstone gone") and certificates.digest_holds(last)
        certificates_before = PurgeCertificate.objects.count()
        apply_retention(w.programme, dry_run=False, trigger="beat")
        assert PurgeCertificate.objects.count() == certificates_before
