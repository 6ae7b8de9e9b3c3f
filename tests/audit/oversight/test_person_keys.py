"""The DPO's per-person search in two steps (ADR 54): the keys of every entry about her, read by one
prepared statement planned once with a generic plan, then only the entries of the page shown.

The oracle is a scan of every entry and subject in Python, not the search's own SQL."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction

from audit.core.log import record_event
from audit.core.models import AuditEntry, AuditSubject, Event
from audit.core.partitions import ensure_months
from audit.oversight import person_keys
from audit.oversight.person_keys import KEYS, PersonEntries, by_keys, entry_keys, keys_parameters
from audit.oversight.person_subjects import pages_about
from audit.oversight.review import _shown, person_entries, person_entries_queryset, person_summary
from pause_portal.tenancy.roles import OrganisationKind
from tests import factories as f

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
WOMAN = 424242  # a woman's id: only references and page addresses are needed here


def at(moment: datetime, event: Event, actor, **kwargs) -> AuditEntry:
    with time_machine.travel(moment, tick=False):
        return record_event(event, actor=actor, **kwargs)


@pytest.fixture
def trail():
    """Entries about her over fourteen months — named as subjects, acted on as the target, refused
    one of her pages — among entries about others; returns (her references, staff). On PostgreSQL
    each month has its partition."""
    ensure_months(date(2024, 3, 1), date(2025, 6, 1))
    with time_machine.travel(datetime(2024, 1, 1, 9, tzinfo=LONDON), tick=False):
        trust = f.organisation(OrganisationKind.TRUST)
        her, other, staff = f.person(trust), f.person(trust), f.person(trust)
    page = pages_about([f"eligibility.woman:{WOMAN}"])[0]
    for month in range(14):
        moment = datetime(2024 + (month + 2) // 12, (month + 2) % 12 + 1, 3 + month, 10, tzinfo=LONDON)
        at(moment, Event.DISCLOSURE, staff, subjects=[her, other], page="/x/")
        at(moment, Event.DISCLOSURE, staff, subjects=[other], page="/x/")  # not about her
        if month % 3 == 0:
            at(moment, Event.CHANGE, staff, target=her, page="/y/")
        if month % 4 == 1:
            at(moment, Event.REFUSED, staff, page=page, status_code=403)
            at(moment, Event.REFUSED, staff, page="/elsewhere/", status_code=403)  # not about her
    return [f"sharing.person:{her.pk}", f"eligibility.woman:{WOMAN}"], staff


def oracle(references: list[str]) -> list[int]:
    """The ids of every entry about the references, newest first, by reading everything."""
    wanted, pages = set(references), set(pages_about(references))
    about = {s.entry_id for s in AuditSubject.objects.all() if s.subject in wanted}
    for e in AuditEntry.objects.all():
        if e.content_type_id and f"{e.content_type.app_label}.{e.content_type.model}:{e.object_id}" in wanted:
            about.add(e.pk)
        if e.event == Event.REFUSED and e.page in pages:
            about.add(e.pk)
    entries = [e for e in AuditEntry.objects.all() if e.pk in about]
    return [e.pk for e in sorted(entries, key=lambda e: (e.timestamp, e.pk), reverse=True)]


def test_every_page_and_the_count_are_the_scans(trail):
    references, _ = trail
    expected = oracle(references)
    assert len(expected) > 20  # subjects, targets and refusals over many months
    first = person_entries(references, per_page=4)
    assert first.paginator.count == len(expected)
    shown = [e.pk for number in first.paginator.page_range
             for e in person_entries(references, page=number, per_page=4).object_list]
    assert shown == expected


def test_an_export_reads_its_slice_a_chunk_at_a_time_and_loses_nothing(trail, monkeypatch):
    references, _ = trail
    monkeypatch.setattr(person_keys, "CHUNK", 3)
    expected = oracle(references)
    entries = person_entries_queryset(references)
    assert [e.pk for e in entries[:100_000]] == expected
    assert [e.pk for e in entries[2:9]] == expected[2:9]
    assert entries[5].pk == expected[5] and [e.pk for e in entries] == expected


def test_the_summary_is_the_scans(trail):
    references, staff = trail
    expected = [e for e in AuditEntry.objects.all() if e.pk in set(oracle(references))]
    summary = person_summary(references)
    assert summary.entries == len(expected) and summary.people == 1
    assert (summary.first, summary.last) == (min(e.timestamp for e in expected), max(e.timestamp for e in expected))


def test_nobody_has_no_entries():
    assert entry_keys([]) == [] and person_summary([]).entries == 0
    assert person_entries(["sharing.person:999999"]).paginator.count == 0


# --- PostgreSQL: the months ----------------------------------------------------------------------
@pytest.mark.postgres
def test_the_keys_are_planned_once_with_a_generic_plan_and_the_session_is_left_as_it_was(trail):
    references, _ = trail
    with connection.cursor() as cur:
        cur.execute("SHOW plan_cache_mode")
        before = cur.fetchone()[0]
    for _ in range(3):
        entry_keys(references)
    with connection.cursor() as cur:
        cur.execute("SELECT generic_plans, custom_plans FROM pg_catalog.pg_prepared_statements WHERE name = %s",
                    [KEYS[0]])
        generic, custom = cur.fetchone()
        cur.execute("SHOW plan_cache_mode")
        after = cur.fetchone()[0]
    assert generic >= 3 and custom == 0
    assert after == before


@pytest.mark.postgres
def test_the_generic_plan_reads_every_month_by_an_index(trail):
    """With sequential scans priced out, the keys' plan reads every partition of the subjects and
    of the entries by an index: none lacks the one it needs (ADR 52)."""
    from audit.core.db_roles import audit_partitions
    from audit.oversight.person_keys import execute_sql, prepare_sql

    references, _ = trail
    entry_keys(references)  # prepared on this connection, and planned there with the default costs
    params = keys_parameters(references)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DEALLOCATE {KEYS[0]}")  # planned again below with sequential scans priced out
        for setting in ("enable_seqscan = off", "enable_bitmapscan = off", "plan_cache_mode = force_generic_plan"):
            cur.execute(f"SET LOCAL {setting}")
        cur.execute(prepare_sql(KEYS))
        cur.execute(f"EXPLAIN {execute_sql(KEYS, len(params))}", params)
        plan = "\n".join(row[0] for row in cur.fetchall())
        cur.execute(f"DEALLOCATE {KEYS[0]}")
        names = audit_partitions(cur)
    assert entry_keys(references)  # prepared again as the search needs it
    assert "Seq Scan" not in plan, plan
    for name in names:
        if name.startswith(("audit_auditsubject", "audit_auditentry")):
            assert f" on {name} " in plan, (name, plan)


@pytest.mark.postgres
def test_a_page_reads_only_the_months_of_its_entries(trail):
    from audit.core.db_roles import audit_partitions

    references, _ = trail
    keys = entry_keys(references)[:2]
    months = {(k[0].astimezone(LONDON).year, k[0].astimezone(LONDON).month) for k in keys}
    sql, params = by_keys(keys, _shown(AuditEntry.objects.all())).query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN {sql}", params)  # noqa: S608 - Django's own SQL
        plan = "\n".join(row[0] for row in cur.fetchall())
        entry_partitions = [n for n in audit_partitions(cur) if n.startswith("audit_auditentry")]
    read = [n for n in entry_partitions if f" {n} " in plan or f" {n}\n" in plan or plan.endswith(f" {n}")]
    assert read and len(read) == len(months), (months, plan)
    assert all(any(f"p{y:04d}m{m:02d}" in n for y, m in months) for n in read)


@pytest.mark.postgres
def test_an_entry_whose_subject_carries_another_time_is_still_found(trail):
    """Only the owner role could write a subject with a time other than its entry's: the search
    still shows the entry (read by its id in every month), counted once, and the summary counts it."""
    from audit.core.bypass import audit_bypass

    references, staff = trail
    lone = at(datetime(2025, 6, 1, 12, tzinfo=LONDON), Event.DISCLOSURE, staff, page="/z/")
    with audit_bypass("test: a subject dated in another month"):
        AuditSubject.objects.create(entry=lone, subject=references[0], entry_time=datetime(2024, 2, 1, tzinfo=LONDON))
    expected = oracle(references)
    assert lone.pk in expected
    entries = PersonEntries(entry_keys(references), _shown(AuditEntry.objects.all()))
    assert sorted(e.pk for e in entries) == sorted(expected) and entries.count() == len(expected)
    assert person_summary(references).entries == len(expected)


def test_the_refused_page_part_names_the_refused_event():
    assert f"e.event = '{Event.REFUSED}'" in KEYS[2]
