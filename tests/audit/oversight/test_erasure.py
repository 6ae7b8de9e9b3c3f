"""Erasure: her personal data leaves every portal record (Trust records, corrections, decisions,
restrictions, scoping and delivery rows), the audit entries stay and the chain still verifies,
the tombstone keeps her out of later extracts, and the erasure says what was erased, what was
kept and why. Since issue 17 it takes two people: the DPO proposes, the Caldicott Guardian
confirms (`w.erase`); the two-person rules themselves are in test_rights_oversight.py.
All data is synthetic."""

from __future__ import annotations

import pytest
from django.db import connection

from audit.core import sealing
from audit.core.models import AuditEntry, AuditSubject
from audit.core.models_rights import ErasureRecord, RequestStatus, RightsRequest
from audit.oversight import erasure, rights
from eligibility.corrections import erased_terms, is_erased
from eligibility.disclosure import disclose
from eligibility.models import (
    CareEpisode,
    Child,
    Correction,
    Decision,
    ErasedPerson,
    Evaluation,
    LegalStatus,
    Restriction,
    Woman,
)
from pseudonymisation.fields import Protector
from sharing.concerns import close_concern
from sharing.models_delivery import (
    CaseloadAssignment,
    ContactAttempt,
    ReleasedChild,
    ReleasedWoman,
    SafeguardingConcern,
)
from sharing.models_scoping import ScopingWomanRow
from tests import factories as f
from tests.audit.oversight.test_rights_world import rights_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def checkpoints(settings, tmp_path):
    settings.PORTAL_AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")


def _her_everything(w, released):
    """Give her (and only her) a row of every kind: a correction, a restriction ended, a scoping
    row with a child row, a caseload, a contact attempt and a safeguarding concern."""
    woman = released.woman
    rr = w.request("rectification")
    rights.rectify(rr, woman, "forename", "Corrected", reason="Checked", by=w.caseworker)
    rights.close(rr, status="refused", note="done", by=w.dpo)
    restricted = w.request("restriction")
    rights.open_request_restriction(restricted, by=w.dpo)
    rights.lift_request_restriction(restricted, by=w.dpo)
    rights.close(restricted, status="completed", note="lifted", by=w.dpo)
    f.ScopingChildRowFactory(mother_row__release__programme=w.programme, mother_row__woman=woman)
    practitioner = w.delivery.practitioners[0]
    w.delivery.assign(released, practitioner)
    f.ContactAttemptFactory(released_woman=released, recorded_by=practitioner, outcome="not_reached")
    concern = f.SafeguardingConcernFactory(released_woman=released, raised_by=practitioner)
    # Closed by a Trust lead; erasure still keeps it, detached from her record (issue 22, point 4).
    close_concern(concern, by=w.delivery.trust_lead, closing_note="Taken into the Trust's case system (synthetic)")
    disclose(w.delivery.pause_lead, [released], page="/delivery/women/")  # an access entry about her


def _counts(woman_id: int, released_id: int) -> dict[str, int]:
    children = Child.objects.filter(mother_id=woman_id)
    return {
        "woman": Woman.objects.filter(pk=woman_id).count(), "children": children.count(),
        "legal": LegalStatus.objects.filter(child__mother_id=woman_id).count(),
        "episodes": CareEpisode.objects.filter(child__mother_id=woman_id).count(),
        "corrections": Correction.objects.filter(woman_id=woman_id).count(),
        "decisions": Decision.objects.filter(woman_id=woman_id).count(),
        "evaluations": Evaluation.objects.filter(woman_id=woman_id).count(),
        "restrictions": Restriction.objects.filter(woman_id=woman_id).count(),
        "scoping": ScopingWomanRow.objects.filter(woman_id=woman_id).count(),
        "released": ReleasedWoman.objects.filter(pk=released_id).count(),
        "released_children": ReleasedChild.objects.filter(released_woman_id=released_id).count(),
        "caseload": CaseloadAssignment.objects.filter(released_woman_id=released_id).count(),
        "contacts": ContactAttempt.objects.filter(released_woman_id=released_id).count(),
        "concerns": SafeguardingConcern.objects.filter(released_woman_id=released_id).count(),
    }


def test_erasure_removes_her_data_keeps_the_trail_verifiable_and_records_what_and_why(checkpoints):
    w = rights_world(women=2)
    first, second = w.delivery.released
    _her_everything(w, first)
    woman_id, released_id = first.woman_id, first.pk
    protector = Protector.load(w.programme.pk, Woman.key_phase)
    trust_id = first.woman.reveal(protector, "trust_person_id")
    before = _counts(woman_id, released_id)
    assert all(before[k] for k in ("woman", "children", "corrections", "decisions", "restrictions", "scoping",
                                   "released", "released_children", "caseload", "contacts", "concerns"))
    other_before = _counts(second.woman_id, second.pk)
    sealing.seal_pending()
    sealing.write_checkpoint()
    entries_before = AuditEntry.objects.count()
    about_her = set(AuditSubject.objects.filter(subject=f"eligibility.woman:{woman_id}").values_list("entry_id",
                                                                                                     flat=True))

    rr = w.request("erasure")
    record = w.erase(rr, ground="art17_1_d")

    assert set(_counts(woman_id, released_id).values()) == {0}  # "concerns": none still linked to her release
    assert _counts(second.woman_id, second.pk) == other_before
    record.refresh_from_db()
    assert record.ground == "art17_1_d" and record.erased_by == w.dpo and record.confirmed_by == w.caldicott
    assert "sharing.SafeguardingConcern" not in record.erased  # erasure never removes a concern
    kept = {k["what"]: k for k in record.kept}
    concerns_kept = kept["Safeguarding concerns and serious incidents about her, with her Trust person ID"]
    assert concerns_kept["count"] == 1 and "never removes a concern" in concerns_kept["why"]
    detached = SafeguardingConcern.objects.get(released_woman__isnull=True)
    assert detached.reveal(Protector.load(w.programme.pk, SafeguardingConcern.key_phase), "trust_person_id") == trust_id
    assert "outside the portal" in kept["The Trust's own case system"]["why"]
    assert kept["Entries of the audit trail naming her"]["count"] >= len(about_her)
    assert record.erased["eligibility.Woman"] == 1 and record.erased["eligibility.Child"] == before["children"]
    assert record.erased["sharing.ReleasedWoman"] == 1 and record.erased["eligibility.Decision"] == before["decisions"]
    rr = RightsRequest.objects.get(pk=rr.pk)
    assert rr.woman_id is None and rr.status == RequestStatus.COMPLETED and rr.person_id_index
    assert not RightsRequest.objects.filter(woman_id=woman_id).exists()  # her earlier requests keep the index
    assert RightsRequest.objects.filter(person_id_index=rr.person_id_index).count() == 3
    # the tombstone keeps her out of the next extract
    assert ErasedPerson.objects.get(pk=record.tombstone_id).reason == f"art17_1_d {rr.reference}"
    assert is_erased(trust_id, erased_terms(w.programme), protector.indexer)
    # the trail keeps every entry (references only), gains the erasure's, and still verifies
    assert AuditEntry.objects.count() > entries_before
    assert about_her <= set(AuditSubject.objects.filter(subject=f"eligibility.woman:{woman_id}")
                            .values_list("entry_id", flat=True))
    sealing.seal_pending()
    result = sealing.verify()
    assert result.ok, result.problems
    last = AuditEntry.objects.filter(object_repr=f"audit.erasurerecord:{record.pk}").get()
    assert rr.reference in last.reason and trust_id not in last.reason
    if connection.vendor == "postgresql":  # nothing of her left in any table's text
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM audit_auditentry WHERE reason LIKE %s", [f"%{trust_id}%"])
            assert cur.fetchone()[0] == 0


def test_erasure_is_refused_while_another_request_is_open_and_proposed_by_no_one_but_the_dpo():
    from audit.oversight import proposals
    from tests.audit.oversight.test_rights_world import NO_EXEMPTION

    w = rights_world(women=1)
    rr = w.request("erasure")
    other = w.request("access")
    with pytest.raises(rights.RightsRefused, match=other.reference):
        proposals.propose_erasure(rr, ground="art17_1_a", exemptions=NO_EXEMPTION, by=w.dpo)
    with pytest.raises(rights.RightsRefused, match="not an erasure"):
        proposals.propose_erasure(other, ground="art17_1_a", exemptions=NO_EXEMPTION, by=w.dpo)
    rights.close(other, status="completed", note="sent", by=w.dpo)
    for person in (w.caseworker, w.delivery.trust_lead, w.delivery.pause_lead, w.caldicott):
        with pytest.raises(rights.RightsRefused):
            proposals.propose_erasure(rr, ground="art17_1_a", exemptions=NO_EXEMPTION, by=person)
    for ground in ("because", "art17_1_b"):  # 17(1)(b), consent withdrawn, cannot apply: nothing rests on consent
        with pytest.raises(rights.RightsRefused, match="ground"):
            proposals.propose_erasure(rr, ground=ground, exemptions=NO_EXEMPTION, by=w.dpo)
    assert Woman.objects.filter(pk=rr.woman_id).exists() and not ErasureRecord.objects.exists()
    w.erase(rr)
    assert not Woman.objects.filter(pk=w.delivery.released[0].woman_id).exists()


def test_a_failed_erasure_changes_nothing(monkeypatch):
    from audit.core.models_rights import ProposalStatus
    from audit.oversight import proposals
    from tests.audit.oversight.test_rights_world import NO_EXEMPTION

    w = rights_world(women=1)
    rr = w.request("erasure")
    proposal = proposals.propose_erasure(rr, ground="art17_1_a", exemptions=NO_EXEMPTION, by=w.dpo)
    monkeypatch.setattr(erasure, "record_event", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("audit down")))
    with pytest.raises(RuntimeError):
        proposals.confirm(proposal, by=w.caldicott, justification="Synthetic justification")
    assert Woman.objects.filter(pk=rr.woman_id).exists() and not ErasedPerson.objects.exists()
    assert RightsRequest.objects.get(pk=rr.pk).status == RequestStatus.OPEN
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING and proposal.decided_by is None
