"""The role x phase x page matrix of the scoping pages (every cell asserted), programmes kept
apart, the deadline with frozen time and no worker, exports and notes recorded."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from pause_portal.tenancy.roles import Role
from sharing.models_scoping import ScopingExport, ScopingNote, ScopingWomanRow
from sharing.scoping_release import release_for_scoping
from sharing.scoping_term import scoping_deadline
from tests.conftest import sign_in_verified
from tests.sharing.test_scoping_world import Cohort, agreement, member

pytestmark = pytest.mark.django_db

ROLES = [Role.TRUST_CASEWORKER, Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN, Role.DPO, Role.PAUSE_LEAD,
         Role.PAUSE_PRACTITIONER, Role.SYSTEM_ADMIN]
PHASES = ["scoping open", "scoping after deadline", "delivery", "closed"]
PAGES = ["release GET", "release POST", "release-check GET", "release-check POST", "rows GET", "tables GET",
         "export POST", "notes GET", "notes POST"]
OWNER = {"release": Role.TRUST_LEAD, "release-check": Role.TRUST_LEAD, "rows": Role.PAUSE_LEAD,
         "tables": Role.PAUSE_LEAD, "export": Role.PAUSE_LEAD,
         "notes": Role.PAUSE_LEAD}


def released_world(programme):
    lead = member(programme, Role.TRUST_LEAD)
    guardian = member(programme, Role.CALDICOTT_GUARDIAN)
    agreement(programme, proposed_by=lead, decided_by=guardian)
    cohort = Cohort(programme, lead)
    today = timezone.localdate()
    women = [cohort.woman(born=date(1991, 2, 1) + timedelta(days=3 * i), ethnicity="WBRI",
                          removals=[today - timedelta(days=400), today - timedelta(days=90)]) for i in range(6)]
    release_for_scoping(programme, women, by=lead)
    ScopingNote.objects.create(programme=programme, written_by=member(programme, Role.PAUSE_LEAD),
                               text="Working note: most releases were care orders")
    extra = cohort.woman(born=date(1985, 1, 1), ethnicity="WBRI",
                         removals=[today - timedelta(days=30), today - timedelta(days=60)])
    return cohort, women, extra


def person_in(programme, role):
    if role == Role.SYSTEM_ADMIN:
        from pause_portal.tenancy.roles import OrganisationKind
        from tests import factories as f

        return f.person(f.organisation(OrganisationKind.TRUST), system_admin=True)
    return member(programme, role)


def request(client, page, *, extra_pk=None, checked=""):
    name, method = page.split()
    url = reverse(f"scoping:{name}")
    if method == "GET":
        return client.get(url)
    data = {"release": {"women": [extra_pk]}, "release-check": {"women": [extra_pk], "checked": checked},
            "export": {"table": "removals"}, "notes": {"text": "A new note about care orders"}}[name]
    return client.post(url, data)


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_every_role_in_every_phase_on_every_page(role, phase):
    from tests import factories as f

    programme = f.programme(phase="scoping")
    cohort, women, extra = released_world(programme)
    tokens = list(ScopingWomanRow.objects.filter(programme=programme).values_list("token", flat=True))
    person = person_in(programme, role)
    moment = timezone.now()
    if phase == "scoping after deadline":
        moment = scoping_deadline(programme) + timedelta(minutes=1)
    elif phase in ("delivery", "closed"):
        programme.phase = phase
        programme.save()
    with time_machine.travel(moment, tick=False):
        client = sign_in_verified(Client(), person)  # a session of that moment
        checked = ""  # what the check page's confirmation carries (read from it below)
        for page in PAGES:
            name = page.split()[0]
            before = (ScopingWomanRow.objects.count(), ScopingExport.objects.count(), ScopingNote.objects.count())
            response = request(client, page, extra_pk=extra.pk, checked=checked)
            cell = (role.value, phase, page)
            if role != OWNER[name]:
                assert response.status_code == 404, cell
                after = (ScopingWomanRow.objects.count(), ScopingExport.objects.count(), ScopingNote.objects.count())
                assert after == before, cell
                continue
            is_open = phase == "scoping open"
            body = response.content.decode() if response.get("Content-Type", "").startswith("text/html") else ""
            if page == "release GET":
                assert response.status_code == 200, cell
                assert ("Select all that can be released" in body) == is_open, cell
                assert ('id="scoping-closed"' in body) != is_open and " checked" not in body, cell
                assert "What each release did" in body, cell
            elif page == "release POST":  # her choice: the check page next, nothing written
                assert response.status_code == 302 if is_open else response.status_code == 200, cell
                assert not ScopingWomanRow.objects.filter(woman=extra).exists(), cell
            elif page == "release-check GET":
                assert response.status_code == (200 if is_open else 302), cell
                assert not ScopingWomanRow.objects.filter(woman=extra).exists(), cell
                if is_open:
                    assert "Confirm and release to Pause" in body, cell
                    checked = re.search(r'name="checked" value="(\w+)"', body).group(1)
            elif page == "release-check POST":  # her confirmation: released only while scoping is open
                assert response.status_code == 302, cell
                assert ScopingWomanRow.objects.filter(woman=extra).exists() == is_open, cell
                if is_open:
                    ScopingWomanRow.objects.filter(woman=extra).delete()
            elif page in ("rows GET", "tables GET", "notes GET"):
                assert response.status_code == 200, cell
                assert ('id="scoping-closed"' in body) != is_open, cell
                shown = {"rows GET": tokens[0], "tables GET": "table-removals", "notes GET": "most releases were care orders"}[page]
                assert (shown in body) == is_open, cell
                if page == "rows GET":
                    assert all((t in body) == is_open for t in tokens), cell
            elif page == "export POST":
                if is_open:
                    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), cell
                    record = ScopingExport.objects.get()
                    content = b"".join(response.streaming_content) if response.streaming else response.content
                    assert record.sha256 == hashlib.sha256(content).hexdigest(), cell
                    assert not any(t in content.decode() for t in tokens), cell
                else:
                    assert response.status_code == 404 and not ScopingExport.objects.exists(), cell
            elif page == "notes POST":
                assert response.status_code == (302 if is_open else 404), cell
                assert ScopingNote.objects.filter(text__startswith="A new note").exists() == is_open, cell


def test_pause_pages_are_logged_as_disclosures_naming_the_rows(programme):
    released_world(programme)
    lead = member(programme, Role.PAUSE_LEAD)
    client = sign_in_verified(Client(), lead)
    client.get(reverse("scoping:rows"))
    entries = AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=lead, page=reverse("scoping:rows"))
    assert sorted(e.subject_count for e in entries) == [6]  # the women (children are never listed: issue 16)
    assert all(e.role == Role.PAUSE_LEAD and e.phase == "scoping" for e in entries)
    client.get(reverse("scoping:tables"))
    entries = AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=lead, page=reverse("scoping:tables"))
    assert sorted(e.subject_count for e in entries) == [6, 12]  # the women, the children counted
    assert all(e.role == Role.PAUSE_LEAD and e.phase == "scoping" for e in entries)
    client.post(reverse("scoping:export"), {"table": "outcomes"})
    record = ScopingExport.objects.get()
    assert AuditEntry.objects.filter(event=Event.CHANGE, actor=lead, reason__contains=record.sha256).exists()
    assert AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=lead, reason__contains="export").exists()


def test_exports_are_aggregates_with_small_numbers_suppressed(programme):
    released_world(programme)
    client = sign_in_verified(Client(), member(programme, Role.PAUSE_LEAD))
    response = client.post(reverse("scoping:export"), {"table": "removals"})
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[1][0].startswith("Children removed") and lines[-2][0] == "Total"
    for line in lines[2:-2]:
        for cell in line[1:]:
            assert cell in ("*", "<5") or cell == "0" or int(cell) >= 5


def test_a_pause_lead_of_another_programme_sees_none_of_its_rows(programme, other_programme):
    released_world(programme)
    tokens = list(ScopingWomanRow.objects.values_list("token", flat=True))
    outsider = member(other_programme, Role.PAUSE_LEAD)
    client = sign_in_verified(Client(), outsider)
    for name in ("rows", "tables", "notes"):
        body = client.get(reverse(f"scoping:{name}")).content.decode()
        assert not any(t in body for t in tokens) and "most releases were care orders" not in body


def test_a_trust_lead_of_another_programme_cannot_release_its_women(programme, other_programme):
    _cohort, _women, extra = released_world(programme)
    outsider = member(other_programme, Role.TRUST_LEAD)
    client = sign_in_verified(Client(), outsider)
    for url in (reverse("scoping:release"), reverse("scoping:release-check")):
        client.post(url, {"women": [extra.pk]})
        assert not ScopingWomanRow.objects.filter(woman=extra).exists()


def test_the_deadline_stops_scoping_data_with_frozen_time_and_no_worker(programme):
    released_world(programme)
    lead = member(programme, Role.PAUSE_LEAD)
    deadline = scoping_deadline(programme)
    token = ScopingWomanRow.objects.first().token
    with time_machine.travel(deadline - timedelta(seconds=1), tick=False):
        client = sign_in_verified(Client(), lead)
        assert token in client.get(reverse("scoping:rows")).content.decode()
    with time_machine.travel(deadline, tick=False):
        client = sign_in_verified(Client(), lead)
        assert token not in client.get(reverse("scoping:rows")).content.decode()
        from eligibility.disclosure import disclose

        assert list(disclose(lead, ScopingWomanRow.objects.all(), page="test")) == []
    assert ScopingWomanRow.objects.exists()  # nothing was purged: the policy alone refuses
