"""The factories make what the portal itself would: identifiers encrypted and findable through
the blind indexes, memberships granted by two system administrators, the programme's current
agreement, and the same invented values on every run."""

from datetime import date

import pytest

from eligibility.identifiers import find_children, find_woman, find_women
from pause_portal.tenancy.models import MembershipStatus
from pause_portal.tenancy.roles import Role
from pseudonymisation.blind_index import IndexKind
from pseudonymisation.fields import Protector
from sharing.scoping_term import current_agreement
from tests import factories as f
from tests.eligibility.extracts import VALID_NHS

pytestmark = pytest.mark.django_db


def test_a_woman_and_her_child_are_encrypted_and_found_as_an_import_leaves_them(programme):
    her = f.WomanFactory(programme=programme, trust_person_id="AB-1", surname="O'Brien", nhs_number=VALID_NHS,
                         date_of_birth=date(1990, 5, 1))
    child = f.ChildFactory(mother=her, trust_person_id="C-1")
    assert b"Brien" not in bytes(her.surname)
    assert her.reveal(Protector.load(programme.pk, "trust"), "surname") == "O'Brien"
    assert find_woman(programme, IndexKind.PERSON_ID, "ab-1") == her == find_woman(programme, "nhs_number", VALID_NHS)
    assert list(find_women(programme, IndexKind.SURNAME_DOB, ("OBRIEN", date(1990, 5, 1)))) == [her]
    assert list(find_children(programme, "C-1")) == [child]
    assert (child.programme, child.first_extract, child.birth_year) == (programme, her.last_extract, 2012)
    assert f.WomanFactory(programme=programme).first_extract == her.first_extract  # one extract a programme


def test_a_member_is_from_her_roles_side_and_granted_by_two_administrators(programme):
    lead = f.MembershipFactory(programme=programme, role=Role.PAUSE_LEAD)
    assert lead.person.organisation == programme.pause_practice and lead.status == MembershipStatus.ACTIVE
    assert lead.requested_by != lead.confirmed_by and lead.confirmed_by.is_system_admin
    assert f.member(programme, Role.DPO).organisation == programme.trust
    pending = f.MembershipFactory(programme=programme, pending=True)
    assert (pending.status, pending.confirmed_by, pending.confirmed_at) == (MembershipStatus.PENDING, None, None)
    assert f.person(programme.trust).totpdevice_set.get().confirmed
    assert not f.person(programme.trust, with_device=False).totpdevice_set.exists()


def test_an_agreement_is_the_programmes_next_confirmed_version_and_a_release_is_under_it(programme):
    first = f.AgreementFactory(programme=programme)
    second = f.AgreementFactory(programme=programme)
    assert (first.version, second.version, current_agreement(programme)) == (1, 2, second)
    assert first.proposed_by.memberships.get().role == Role.TRUST_LEAD
    assert first.decided_by.memberships.get().role == Role.CALDICOTT_GUARDIAN
    row = f.ScopingWomanRowFactory(release__programme=programme)
    assert (row.release.agreement, row.release.released_by, row.woman.programme) == (second, second.proposed_by,
                                                                                   programme)


def test_the_invented_values_are_the_same_on_every_run(programme):
    def invented():
        f.reseed()
        w = f.WomanFactory(programme=programme)
        protector = Protector.load(programme.pk, "trust")
        return [w.reveal(protector, name) for name in ("forename", "surname", "date_of_birth")]

    assert invented() == invented()
