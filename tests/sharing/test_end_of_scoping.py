"""The end of scoping: the purge leaves the approved final report, the certificate and the Trust's
own records, and nothing else of Pause's scoping data; the scoping keys are destroyed, so a token
resolves nothing; the deadline ends scoping without anyone moving the phase."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.core.models import AuditEntry
from eligibility.models import Woman
from pseudonymisation import keys
from pseudonymisation.models import Purpose
from pseudonymisation.tokens import TokenKind, TokenMaker
from sharing.models_scoping import (
    SCOPING_PURGED_MODELS,
    DeletionCertificate,
    FinalReport,
    ReportStatus,
    ScopingExport,
    ScopingNote,
    ScopingWomanRow,
)
from sharing.models_scoping_checks import ScopingTableVersion
from sharing.scoping_purge import (
    certificate_digest,
    certificate_text,
    end_scoping,
    end_scoping_at_deadlines,
)
from sharing.scoping_term import scoping_deadline, scoping_is_open
from tests import factories as f
from tests.eligibility.casebook import Casebook

pytestmark = pytest.mark.django_db

TOKEN_SCOPE = "scoping"


def scoping_data(programme, trust_lead, pause_lead, caldicott, women: int = 3) -> dict:
    """A release of `women` women with two children each, a note, an export record, a draft and an
    approved final report, and the scoping token key in use."""
    book = Casebook(programme, trust_lead)
    maker = TokenMaker(keys.Keyring.load(keys.KeyScope(programme.pk, TOKEN_SCOPE, Purpose.TOKEN)))
    agreement = f.AgreementFactory(programme=programme, proposed_by=trust_lead, decided_by=caldicott)
    release = f.ScopingReleaseFactory(programme=programme, agreement=agreement, women=women)
    for n in range(women):
        row = f.ScopingWomanRowFactory(release=release, woman=book.woman(), token=maker.make(TokenKind.WOMAN, f"W-{n}"),
                                       age_at_first_removal_fine="25-29", age_at_first_removal="20-29")
        for c in range(2):
            f.ScopingChildRowFactory(mother_row=row, token=maker.make(TokenKind.CHILD, f"C-{n}-{c}"))
    ScopingNote.objects.create(programme=programme, written_by=pause_lead, text="Most removals 2015-2019.")
    ScopingExport.objects.create(programme=programme, exported_by=pause_lead, table="by_removals", sha256="0" * 64)
    ScopingTableVersion.objects.create(programme=programme, table="removals", via="export", sha256="0" * 64,
                                       content={"title": "Women by number of children removed and age band"})
    approved = FinalReport.objects.create(programme=programme, title="Scoping report", written_by=pause_lead,
                                          status=ReportStatus.APPROVED, decided_by=trust_lead,
                                          decided_at=timezone.now())
    draft = FinalReport.objects.create(programme=programme, title="An earlier draft", written_by=pause_lead)
    return {"maker": maker, "approved": approved, "draft": draft, "release": release}


def test_the_purge_leaves_the_report_the_certificate_and_the_trusts_records(programme, trust_lead, pause_lead,
                                                                           caldicott, other_programme):
    made = scoping_data(programme, trust_lead, pause_lead, caldicott)
    token = ScopingWomanRow.objects.first().token
    women = Woman.objects.filter(programme=programme).count()
    certificate = end_scoping(programme, by=caldicott, trigger="phase change #7")

    for model in SCOPING_PURGED_MODELS:
        assert not model.objects.filter(programme=programme).exists(), model
    assert list(FinalReport.objects.filter(programme=programme)) == [made["approved"]]
    assert Woman.objects.filter(programme=programme).count() == women == 3  # the Trust's records stay
    assert DeletionCertificate.objects.get() == certificate

    rows = {s["store"]: s["rows"] for s in certificate.stores}
    assert rows == {
        "Released children (scoping snapshot)": 6, "Released women (scoping snapshot)": 3, "Scoping releases": 1,
        "Pause's scoping notes and analyses": 1, "Records of aggregate exports": 1,
        "Versions of the aggregate tables Pause was shown": 1, "Final report drafts not approved": 1, "Cached pages": 0, "Queued jobs": 0,
    }
    assert [(k["scope"], k["versions"]) for k in certificate.keys_destroyed] == [(f"{programme.pk}/scoping/token", 1)]
    assert {"what": "Approved final report", "id": made["approved"].pk} in certificate.kept
    assert certificate.purged_by == caldicott and certificate.trigger == "phase change #7"
    assert certificate.digest == certificate_digest(certificate)
    assert len(certificate.digest) == 64 and json.loads(certificate_text(certificate))["stores"] == certificate.stores
    assert token not in certificate_text(certificate)
    entry = AuditEntry.objects.filter(reason__startswith="scoping ended").get()
    assert entry.actor == caldicott and "Released women (scoping snapshot) 3" in entry.reason


def test_a_destroyed_key_resolves_nothing_and_makes_no_new_token(programme, trust_lead, pause_lead, caldicott):
    made = scoping_data(programme, trust_lead, pause_lead, caldicott, women=1)
    token = made["maker"].make(TokenKind.WOMAN, "W-0")
    assert made["maker"].resolve(token, ["W-0"]) == "W-0"  # while the key lives
    end_scoping(programme, by=None, trigger="deadline")
    scope = keys.KeyScope(programme.pk, TOKEN_SCOPE, Purpose.TOKEN)
    with pytest.raises(keys.KeyDestroyed):
        TokenMaker(keys.Keyring.load(scope))
    with pytest.raises(keys.KeyDestroyed):
        keys.rotate(scope)


def test_the_purge_happens_once(programme, trust_lead, pause_lead, caldicott):
    scoping_data(programme, trust_lead, pause_lead, caldicott, women=1)
    first = end_scoping(programme, by=caldicott, trigger="phase change #1")
    assert end_scoping(programme, by=trust_lead, trigger="deadline") == first
    assert DeletionCertificate.objects.count() == 1


def test_another_programmes_scoping_data_is_untouched(programme, other_programme, trust_lead, pause_lead, caldicott):
    from tests.conftest import _member

    scoping_data(programme, trust_lead, pause_lead, caldicott, women=1)
    lead, their_pause, their_caldicott = (_member(other_programme, r) for r in
                                          ("trust_lead", "pause_lead", "caldicott_guardian"))
    scoping_data(other_programme, lead, their_pause, their_caldicott, women=2)
    end_scoping(programme, by=None, trigger="deadline")
    assert ScopingWomanRow.objects.filter(programme=other_programme).count() == 2
    assert TokenMaker(keys.Keyring.load(keys.KeyScope(other_programme.pk, TOKEN_SCOPE, Purpose.TOKEN)))


def test_the_deadline_ends_scoping_with_no_worker_and_the_task_purges_after(programme, trust_lead, pause_lead,
                                                                           caldicott):
    scoping_data(programme, trust_lead, pause_lead, caldicott, women=1)
    deadline = scoping_deadline(programme)
    with time_machine.travel(deadline - timedelta(seconds=1), tick=False):
        assert scoping_is_open(programme)
        assert end_scoping_at_deadlines() == []
    with time_machine.travel(deadline, tick=False):
        assert not scoping_is_open(programme)  # nothing ran: the clock alone closes it
        assert ScopingWomanRow.objects.exists()
        [pk] = end_scoping_at_deadlines()
    certificate = DeletionCertificate.objects.get(pk=pk)
    assert certificate.purged_by is None and certificate.trigger == "deadline"
    assert not ScopingWomanRow.objects.exists()


def test_the_periodic_task_ends_scoping_past_the_deadline(programme, other_programme, trust_lead, pause_lead,
                                                          caldicott):
    from sharing.tasks import end_scoping_at_deadlines as task

    scoping_data(programme, trust_lead, pause_lead, caldicott, women=1)
    with time_machine.travel(scoping_deadline(programme) + timedelta(hours=1), tick=False):
        assert task() == 2  # both programmes started together: both past their deadline
        assert task() == 0  # once
    assert DeletionCertificate.objects.filter(programme=programme).exists()
    assert DeletionCertificate.objects.filter(programme=other_programme).exists()  # same start: same deadline


def test_who_saw_her_scoping_row_stays_findable_after_the_purge(programme, trust_lead, pause_lead, caldicott):
    """The Pause lead's view of the snapshot names the Trust's reference of each woman a served row
    was made from, so her access log still shows it once the rows and their key are gone."""
    from audit.core.models import AuditSubject
    from eligibility.disclosure import disclose

    scoping_data(programme, trust_lead, pause_lead, caldicott)
    rows = list(ScopingWomanRow.objects.filter(programme=programme).order_by("pk"))
    ScopingWomanRow.objects.filter(pk__in=[r.pk for r in rows[1:]]).update(withheld=True)
    shown = disclose(pause_lead, ScopingWomanRow.objects.filter(programme=programme), page="/scoping/rows/")
    assert [r.pk for r in shown] == [rows[0].pk] and shown.entry.subject_count == 1
    end_scoping(programme, by=caldicott, trigger="phase change #8")
    assert not ScopingWomanRow.objects.filter(programme=programme).exists()
    about_her = AuditSubject.objects.filter(subject=f"eligibility.woman:{rows[0].woman_id}",
                                            entry__page="/scoping/rows/")
    assert [s.entry_id for s in about_her] == [shown.entry.pk]
    assert not AuditSubject.objects.filter(subject=f"eligibility.woman:{rows[1].woman_id}",
                                           entry__page="/scoping/rows/").exists()  # withheld: not seen
