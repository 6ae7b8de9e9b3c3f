"""Helpers for the closing tests (no tests here): a programme in delivery with rows in every store
closing purges or keeps, made through the real actions where there is one and written straight to
the database where a store has no action a test can reach cheaply. All data is invented; tables
are counted by raw SQL over the database's own table list."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import connection, models, transaction
from django.utils import timezone

from audit.oversight import rights
from eligibility.models import (
    Correction,
    Decision,
    DuplicateProposal,
    ReReview,
    Restriction,
)
from eligibility.recompute import recompute
from pause_portal.classification import DataClass
from sharing import do_not_approach
from sharing.concern_hand_over import mark_filed
from sharing.concerns import close_concern, raise_concern
from sharing.models_delivery import (
    AbsenceConfirmation,
    CaseloadGroupObjectPermission,
    Participation,
    QuarterlyReport,
    QuarterlyReportStatus,
    ReleaseReinstatement,
)
from sharing.models_scoping import (
    FinalReport,
    ReportStatus,
    ScopingExport,
    ScopingNote,
    ScopingTableVersion,
)
from tests import factories as f
from tests.audit.oversight.test_rights_world import RightsWorld, rights_world

PROJECT_APPS = {"eligibility", "sharing", "audit"}
STAFF = {"sharing.Person"}  # the portal's users: not case data, and not the programme's to purge


def _holds_personal_data(model: type[models.Model]) -> bool:
    classes = getattr(model, "data_classification", None) or {}
    return any(DataClass(c) != DataClass.SAFE for c in classes.values())


def case_data_models() -> list[type[models.Model]]:
    """Every project model with personal data, and every model pointing at one (its rows are about
    the same people), found by walking foreign keys to a fixed point."""
    project = [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS and m._meta.label not in STAFF]
    found = {m for m in project if _holds_personal_data(m)}
    while True:
        more = {m for m in project if m not in found and any(
            f.is_relation and f.many_to_one and f.related_model in found for f in m._meta.concrete_fields)}
        if not more:
            return sorted(found, key=lambda m: m._meta.label)
        found |= more


def table_counts() -> dict[str, int]:
    """Every table of the database (its own list, not the models') with its row count."""
    counts = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608 - its own names
            counts[table] = cursor.fetchone()[0]
    return counts


def programme_counts(programme_id: int) -> dict[str, int]:
    """Every table with a programme_id column, with the rows naming this programme."""
    counts = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = {c.name for c in connection.introspection.get_table_description(cursor, table)}
            if "programme_id" in columns:
                cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)} "  # noqa: S608
                               "WHERE programme_id = %s", [programme_id])
                counts[table] = cursor.fetchone()[0]
    return counts


def filled_world(name: str, upload_dir) -> RightsWorld:
    """Five released women in delivery, and rows in every store of the programme."""
    w = rights_world(women=5, name=name)
    d, p = w.delivery, w.programme
    now = timezone.now()
    # The DPO's records: an access request answered, an erasure carried out (its tombstone).
    rights.close(w.request("access", 1), status="completed", note="Sent to her (synthetic)", by=w.dpo)
    w.erase(w.request("erasure", 4))
    # Pause's casework: a caseload, contact, a concern closed and filed by the Trust, a marker.
    d.assign(d.released[0])
    f.ContactAttemptFactory(released_woman=d.released[0], recorded_by=d.practitioners[0])
    concern = raise_concern(d.released[0], by=d.pause_lead, kind="safeguarding", summary="Synthetic concern")
    close_concern(concern, by=d.trust_lead, closing_note="In the Trust's case system (synthetic)")
    mark_filed(concern, by=d.trust_lead)
    with transaction.atomic():
        do_not_approach.mark(d.released[3], kind=Participation.DECLINED, ended_at=now - timedelta(days=40))
    group = Group.objects.create(name=f"closing-{name}")
    CaseloadGroupObjectPermission.objects.create(
        group=group, content_object=d.released[1],
        permission=Permission.objects.filter(content_type__app_label="sharing", content_type__model="releasedwoman").first())
    extract = d.cohort.book.extract
    AbsenceConfirmation.objects.create(programme=p, released_woman=d.released[1], last_extract=extract,
                                       confirmed_by=d.trust_lead)
    decision = Decision.objects.filter(woman=d.released[2].woman).first()
    ReleaseReinstatement.objects.create(programme=p, released_woman=d.released[2], decision=decision,
                                        reinstated_by=d.trust_lead)
    # The Trust's records: evaluations (a run of the rules), re-reviews, restrictions, corrections,
    # duplicate proposals, care episodes, and the upload kept on disk.
    result = recompute(p, by=w.caseworker)
    woman_a, woman_b = d.released[0].woman, d.released[1].woman
    if not ReReview.objects.filter(woman__programme=p).exists():
        ReReview.objects.create(woman=woman_a, decision=Decision.objects.filter(woman=woman_a).first(),
                                run_id=result.run.pk)
    Restriction.objects.create(programme=p, woman=woman_b, reason="objection", recorded_by=w.dpo)
    Correction.objects.create(programme=p, woman=woman_a, field="postcode", recorded_by=w.dpo)
    DuplicateProposal.objects.create(programme=p, woman_a=woman_a, woman_b=woman_b, reason="surname_dob")
    d.cohort.book.episode(d.cohort.book.child(woman_a), "E11", date(2020, 1, 1))
    upload_id = uuid.uuid4().hex
    folder = upload_dir / upload_id
    folder.mkdir(parents=True)
    (folder / "0").write_bytes(b"synthetic ciphertext")
    type(extract).objects.filter(pk=extract.pk).update(upload_id=upload_id, stored_files=["women.csv"])
    # Scoping's stores (a programme that left scoping has none; written here so every table is seen).
    row = f.ScopingWomanRowFactory(release__programme=p, programme=p, woman=woman_b)
    f.ScopingChildRowFactory(mother_row=row, programme=p)
    ScopingNote.objects.create(programme=p, written_by=d.pause_lead, text="Synthetic analysis")
    ScopingExport.objects.create(programme=p, exported_by=d.pause_lead, table="ages", sha256="0" * 64)
    ScopingTableVersion.objects.create(programme=p, table="ages", via="page", content={}, sha256="0" * 64)
    # Reports: drafts go, the approved final report and the sent quarterly report stay.
    FinalReport.objects.create(programme=p, title="Draft", written_by=d.pause_lead)
    FinalReport.objects.create(programme=p, title="Approved", written_by=d.pause_lead, status=ReportStatus.APPROVED,
                               submitted_at=now, decided_by=d.trust_lead, decided_at=now)
    QuarterlyReport.objects.create(programme=p, year=2026, quarter=1, written_by=d.pause_lead)
    QuarterlyReport.objects.create(programme=p, year=2025, quarter=4, written_by=d.pause_lead,
                                   status=QuarterlyReportStatus.SENT, sent_at=now)
    return w
