"""The metatest: walk the whole URLconf and prove that every non-public URL refuses anonymous
people, password-only sessions and every role that should not reach it — GET and POST — and
that every URL carrying an object id answers 404 to a person of another programme.

A new view must carry a permission mark (`for_perm`, pause_portal.access) or this test fails: the
views reachable without one — public, at the MFA step, or by anyone signed in whatever their
role — are the explicit allowlists below.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from pause_portal.access import MFA_STEP, PUBLIC, SIGNED_IN, access_of, for_perm, perm_of, signed_in
from pause_portal.tenancy.models import Membership, MembershipStatus
from pause_portal.tenancy.roles import Perm, Role
from tests import factories as f
from tests.conftest import sign_in_password_only, sign_in_verified

pytestmark = pytest.mark.django_db

PUBLIC_ALLOWLIST = {
    "accounts:sign-in",
    "accounts:sign-out",  # POST only; signs out whoever is signed in, if anyone
    "accounts:signed-out",
    "accounts:timed-out",
    "accounts:account-link",
    "healthz",
    "privacy-notice",  # a programme's privacy notices in force: no personal data (tests/sharing/test_privacy_notices.py)
    "privacy-notices",  # which programmes have one: their names only (tests/root/test_site_pages.py)
    "accessibility", "cookies", "help",  # the footer's pages: fixed text (tests/root/test_site_pages.py)
}
MFA_STEP_ALLOWLIST = {"accounts:mfa-verify", "accounts:mfa-enrol"}
# Any verified person, whatever their role, and nothing of a programme's data on its own: the
# dashboard (what it shows follows the role's permissions), the switcher, the session keep-alive.
SIGNED_IN_ALLOWLIST = {"dashboard", "choose-programme", "accounts:keep-alive"}
SAMPLE_ARGS = {"token": "x" * 43, "pk": 999999, "object_id": "1", "app_label": "sharing", "content_type_id": 1}


def walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), (namespace + p.name) if p.name else None, p.callback


def all_urls():
    return list(walk(get_resolver().url_patterns))


def kwargs_for(pattern: str) -> dict:
    names = re.findall(r"<(?:\w+:)?(\w+)>", pattern) + re.findall(r"\(\?P<(\w+)>", pattern)
    return {n: SAMPLE_ARGS[n] for n in names}


def portal_urls():
    """(name, url, access, roles) for every named URL except the admin's (swept separately)."""
    rows = []
    for pattern, name, callback in all_urls():
        if name is None or name.startswith("admin:"):
            continue
        access, roles = access_of(callback)
        rows.append((name, reverse(name, kwargs=kwargs_for(pattern)), access, roles))
    return rows


def test_every_view_is_marked_and_public_ones_are_exactly_the_allowlist():
    unmarked = [name for name, _, access, _ in portal_urls() if access is None]
    assert unmarked == [], "mark these views with pause_portal.access (for_perm, or an allowlisted mark)"
    public = {name for name, _, access, _ in portal_urls() if access == PUBLIC}
    assert public == PUBLIC_ALLOWLIST
    mfa = {name for name, _, access, _ in portal_urls() if access == MFA_STEP}
    assert mfa == MFA_STEP_ALLOWLIST


def without_a_permission_mark(views: dict) -> list[str]:
    """The views (by URL name) reachable with no `for_perm` mark that no allowlist names."""
    allowlisted = PUBLIC_ALLOWLIST | MFA_STEP_ALLOWLIST | SIGNED_IN_ALLOWLIST
    return sorted(name for name, view in views.items() if name not in allowlisted and perm_of(view) is None)


def test_every_view_off_the_allowlists_carries_a_permission_mark():
    views = {name: callback for _, name, callback in all_urls() if name and not name.startswith("admin:")}
    assert without_a_permission_mark(views) == [], "gate these views with @for_perm(Perm.X)"
    signed_in_only = {name for name, view in views.items()
                      if access_of(view)[0] == SIGNED_IN and perm_of(view) is None}
    assert signed_in_only == SIGNED_IN_ALLOWLIST


def test_a_view_with_no_mark_or_only_signed_in_off_the_allowlist_fails_the_check():
    def view(request):
        return None

    views = {"unmarked": view, "signed-in": signed_in(view), "dashboard": signed_in(view),
             "gated": for_perm(Perm.EDIT_RULE_SET)(view)}
    assert without_a_permission_mark(views) == ["signed-in", "unmarked"]


def test_unnamed_urls_are_only_the_admins():
    unnamed = [p for p, name, _ in all_urls() if name is None and not p.startswith("admin/")]
    assert unnamed == []


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_people_reach_nothing_but_public_urls(method, db):
    client = Client()
    for name, url, access, _ in portal_urls():
        if access == PUBLIC:
            continue
        response = getattr(client, method)(url)
        assert response.status_code == 302, (name, response.status_code)
        assert response["Location"].startswith(reverse("accounts:sign-in")), name


@pytest.mark.parametrize("method", ["get", "post"])
def test_password_only_sessions_reach_only_the_mfa_step(method, caseworker):
    client = sign_in_password_only(Client(), caseworker)
    for name, url, access, _ in portal_urls():
        if access != SIGNED_IN:
            continue
        response = getattr(client, method)(url)
        assert response.status_code == 302, (name, response.status_code)
        assert response["Location"] == reverse("accounts:mfa-verify"), name


ROLE_OF = {
    "caseworker": Role.TRUST_CASEWORKER,
    "trust_lead": Role.TRUST_LEAD,
    "caldicott": Role.CALDICOTT_GUARDIAN,
    "dpo": Role.DPO,
    "pause_lead": Role.PAUSE_LEAD,
    "practitioner": Role.PAUSE_PRACTITIONER,
    "other_practitioner": Role.PAUSE_PRACTITIONER,
    "other_programme_person": Role.TRUST_LEAD,
    "system_admin": Role.SYSTEM_ADMIN,
}


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("actor", sorted(ROLE_OF))
def test_every_role_is_refused_where_it_does_not_belong_and_the_refusal_is_recorded(method, actor, actors):
    person = actors[actor]
    client = sign_in_verified(Client(), person)
    for name, url, access, roles in portal_urls():
        if access != SIGNED_IN or ROLE_OF[actor] in roles:
            continue
        before = AuditEntry.objects.filter(event=Event.REFUSED, actor=person).count()
        response = getattr(client, method)(url)
        assert response.status_code == 404, (name, actor, response.status_code)
        assert AuditEntry.objects.filter(event=Event.REFUSED, actor=person, status_code=404).count() == before + 1


@pytest.mark.parametrize("actor", sorted(ROLE_OF))
def test_the_admin_is_only_for_system_administrators(actor, actors):
    person = actors[actor]
    client = sign_in_verified(Client(), person)
    for url in (reverse("admin:index"), reverse("admin:sharing_programme_changelist"),
                reverse("admin:sharing_membership_changelist"), reverse("admin:app_list", args=["sharing"])):
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if actor == "system_admin":
                assert response.status_code in (200, 302), (url, response.status_code)
            else:
                assert response.status_code == 404, (url, actor, response.status_code)
    assert Client().get(reverse("admin:index")).status_code == 302
    assert sign_in_password_only(Client(), person).get(reverse("admin:index"))["Location"] == reverse(
        "accounts:mfa-verify"
    )


def test_system_admin_reaches_the_admin_index(system_admin):
    client = sign_in_verified(Client(), system_admin)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert b"Programmes" in response.content and b"Person" not in response.content


# --- object URLs: another programme's person gets 404 ----------------------------------------
def pending_grant(programme):
    person = f.person(programme.trust)
    admin = f.person(programme.trust, system_admin=True)
    return Membership.objects.create(person=person, programme=programme, role=Role.TRUST_LEAD,
                                     status=MembershipStatus.PENDING, requested_by=admin)


def an_extract(programme):
    from eligibility.models import Extract

    uploader = f.person(programme.trust)
    return Extract.objects.create(programme=programme, uploaded_by=uploader, sha256="0" * 64, size_bytes=1,
                                  status="failed", finished_at=timezone.now(),
                                  upload_id="abc123")


def a_duplicate_proposal(programme):
    from eligibility.models import DuplicateProposal, Woman

    extract = an_extract(programme)
    a, b = (Woman.objects.create(programme=programme, first_extract=extract, last_extract=extract) for _ in range(2))
    return DuplicateProposal.objects.create(programme=programme, woman_a=a, woman_b=b, reason="nhs_number")


def a_woman(programme):
    from eligibility.models import Woman

    extract = an_extract(programme)
    return Woman.objects.create(programme=programme, first_extract=extract, last_extract=extract)


def a_rule_set(programme):
    from eligibility.rules import current_rule_set

    return current_rule_set(programme)


def a_released_woman(programme):
    """A woman released in a delivery programme of her own (not the outsider's)."""
    from tests.sharing.delivery.world import delivery_world

    return delivery_world(women=1).released[0]


def a_concern(programme):
    from sharing.concerns import raise_concern
    from tests.sharing.delivery.world import delivery_world

    world = delivery_world(women=1)
    return raise_concern(world.released[0], by=world.pause_lead, kind="safeguarding", summary="Synthetic concern")


def a_review_search(programme):
    from audit.core.models_review import ReviewKind, ReviewSearch

    return ReviewSearch.objects.create(programme=programme, by=f.person(programme.trust),
                                       kind=ReviewKind.TRAIL_SEARCH, reason="Synthetic")


def a_flag(programme):
    from audit.core.log import record_event
    from audit.core.models_review import FlagRule, MonitoringFlag

    entry = record_event(Event.REFUSED, actor=f.person(programme.trust), programme=programme, status_code=404)
    return MonitoringFlag.objects.create(rule=FlagRule.OUTSIDE_CASELOAD, entry=entry, occurred_at=entry.timestamp,
                                         actor_id=entry.actor_id, programme=programme, detail="Synthetic")


def a_declaration(programme):
    from audit.core.models_review import ConflictDeclaration

    return ConflictDeclaration.objects.create(programme=programme, declared_by=f.person(programme.trust),
                                              kind="nhs_number", relationship="relative", index_terms=["v1:00"])


def a_quarterly_report(programme):
    from sharing.models_delivery import QuarterlyReport
    from tests.sharing.delivery.world import delivery_world

    world = delivery_world(women=0)
    return QuarterlyReport.objects.create(programme=world.programme, year=2026, quarter=1, written_by=world.pause_lead)


def a_rights_request(programme, kind="access"):
    from audit.core.models_rights import RightsRequest

    dpo = f.person(programme.trust)
    return RightsRequest.objects.create(programme=programme, reference=f"DPO-2026-{RightsRequest.objects.count() + 1}",
                                        kind=kind, woman=a_woman(programme), person_id_index="v1:00",
                                        received_on=date(2026, 1, 5), due_on=date(2026, 2, 5), owner=dpo,
                                        opened_by=dpo)


def a_rights_proposal(programme):
    from audit.core.models_rights import RightsProposal

    request = a_rights_request(programme, "objection")
    return RightsProposal.objects.create(programme=programme, request=request, kind="objection_upheld",
                                         proposed_by=request.opened_by)


def a_breach(programme):
    from audit.core.models_rights import Breach

    return Breach.objects.create(programme=programme, reference="BR-2026-001", found_at=timezone.now(), risk="risk",
                                 aware_at=timezone.now(), recorded_by=f.person(programme.trust))


def a_suspected_breach(programme):
    from audit.core.models_rights import SuspectedBreach

    return SuspectedBreach.objects.create(programme=programme, noticed_at=timezone.now(), pause_side=False,
                                          systems="trust", reported_by=f.person(programme.trust),
                                          reporter_role="trust_caseworker")


def a_purge_certificate(programme):
    from audit.core import certificates
    from audit.core.models_certificates import PurgeKind

    return certificates.issue(PurgeKind.RETENTION, programme=programme, by=None, schedule="Synthetic schedule",
                              trigger="retention run #1", stores=[certificates.store("Contact attempts",
                                                                                     "sharing_contactattempt", 1)])


OBJECT_URLS = {
    # url name: (make an object of `programme`, the role a person of another programme holds there)
    "people:confirm-grant": (pending_grant, Role.CALDICOTT_GUARDIAN),
    "people:deactivate": (lambda prog: f.person(prog.trust), Role.TRUST_LEAD),
    "people:person": (lambda prog: f.person(prog.trust), Role.TRUST_LEAD),
    "people:send-set-up-link": (lambda prog: f.person(prog.trust, with_device=False), Role.TRUST_LEAD),
    "people:grant": (lambda prog: f.person(prog.trust), Role.CALDICOTT_GUARDIAN),
    "people:change-role": (pending_grant, Role.CALDICOTT_GUARDIAN),
    "people:revoke-role": (pending_grant, Role.CALDICOTT_GUARDIAN),
    "people:mfa-reset": (lambda prog: f.person(prog.trust), Role.TRUST_LEAD),
    "eligibility:extract": (an_extract, Role.TRUST_CASEWORKER),
    "eligibility:extract-progress": (an_extract, Role.TRUST_CASEWORKER),
    "eligibility:extract-report": (an_extract, Role.TRUST_LEAD),
    "eligibility:extract-retry": (an_extract, Role.TRUST_LEAD),
    "eligibility:extract-confirm": (an_extract, Role.TRUST_CASEWORKER),
    "eligibility:extract-cancel": (an_extract, Role.TRUST_LEAD),
    "eligibility:duplicate": (a_duplicate_proposal, Role.TRUST_CASEWORKER),
    "eligibility:woman": (a_woman, Role.TRUST_CASEWORKER),
    "eligibility:rule-version": (a_rule_set, Role.TRUST_LEAD),
    "delivery:woman": (a_released_woman, Role.PAUSE_LEAD),
    "casework:woman": (a_released_woman, Role.PAUSE_LEAD),
    "casework:contact": (a_released_woman, Role.PAUSE_PRACTITIONER),
    "casework:raise": (a_released_woman, Role.PAUSE_LEAD),
    "casework:concern": (a_concern, Role.TRUST_LEAD),
    "casework:acknowledge": (a_concern, Role.TRUST_LEAD),
    "casework:close": (a_concern, Role.TRUST_LEAD),
    "casework:hand-over": (a_concern, Role.TRUST_LEAD),
    "casework:filed": (a_concern, Role.TRUST_LEAD),
    "dpo:search": (a_review_search, Role.DPO),
    "dpo:export": (a_review_search, Role.DPO),
    "dpo:flag": (a_flag, Role.DPO),
    "conflicts:withdraw": (a_declaration, Role.TRUST_CASEWORKER),
    "progress:report": (a_quarterly_report, Role.PAUSE_LEAD),
    "progress:send": (a_quarterly_report, Role.PAUSE_LEAD),
    "dpo:request-search": (a_rights_request, Role.DPO),
    "rights:request": (a_rights_request, Role.DPO),
    "rights:pack": (a_rights_request, Role.DPO),
    "rights:pack-download": (a_rights_request, Role.DPO),
    "rights:pack-withhold": (a_rights_request, Role.DPO),
    "rights:rectification": (lambda prog: a_rights_request(prog, "rectification"), Role.TRUST_CASEWORKER),
    "rights:breach": (a_breach, Role.DPO),
    "breach:triage": (a_suspected_breach, Role.DPO),
    "dpo:flag-escalate": (a_flag, Role.DPO),
    "rights:confirmation": (a_rights_proposal, Role.CALDICOTT_GUARDIAN),
    "dpo:purge-certificate": (a_purge_certificate, Role.DPO),
}


def test_every_url_with_an_object_id_is_covered_by_the_cross_programme_test():
    # A public page with an id (a programme's privacy notices) is everyone's by design: not here.
    with_ids = {name for pattern, name, callback in all_urls()
                if name and not name.startswith("admin:") and re.search(r"<int:\w+>", pattern)
                and access_of(callback)[0] != PUBLIC}
    assert with_ids == set(OBJECT_URLS)
    assert {name for pattern, name, callback in all_urls()
            if name and re.search(r"<int:\w+>", pattern) and access_of(callback)[0] == PUBLIC} == {"privacy-notice"}


@pytest.mark.parametrize("name", sorted(OBJECT_URLS))
@pytest.mark.parametrize("method", ["get", "post"])
def test_object_urls_answer_404_to_a_person_of_another_programme(name, method, programme, other_programme):
    make, role = OBJECT_URLS[name]
    obj = make(programme)
    outsider = f.person(other_programme.trust)
    f.membership(outsider, other_programme, role)
    client = sign_in_verified(Client(), outsider)
    response = getattr(client, method)(reverse(name, args=[obj.pk]))
    assert response.status_code == 404
    if name in ("people:confirm-grant", "people:change-role", "people:revoke-role"):
        obj.refresh_from_db()
        assert obj.status == MembershipStatus.PENDING
