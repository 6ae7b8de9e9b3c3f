"""Issue 17, finding 8: requests refused without sign-in no longer add a permanent entry each.

Per client address (as pause_portal.client_ip finds it) and minute, the first
PORTAL_ANONYMOUS_REFUSALS_PER_MINUTE refusals (10 here) are entries of their own; the rest of the
minute's become one entry with their number once the minute is over. The counts are exact: every
refusal is an entry of its own or counted in exactly one, across minutes, addresses and requests
running at once. Signed-in refusals stay one entry each."""

from __future__ import annotations

import re
import secrets
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, AuditSeal, Event
from tests.conftest import sign_in_verified

pytestmark = pytest.mark.django_db
LIMIT = 10
FURTHER = re.compile(r"^(\d+) further requests refused without sign-in from this address in the minute from "
                     r"(\d{4}-\d\d-\d\d \d\d:\d\d) UTC")


@pytest.fixture(autouse=True)
def limit(settings):
    settings.PORTAL_ANONYMOUS_REFUSALS_PER_MINUTE = LIMIT
    settings.PORTAL_TRUSTED_PROXIES = ()


START = (timezone.now() + timedelta(days=1)).replace(second=10, microsecond=0)


def a_minute(offset: int = 0) -> datetime:
    """Ten seconds into a whole minute, a day ahead of when the tests started (no entry of the
    fixtures goes back in time), fixed however long they take."""
    return START + timedelta(minutes=offset)


def refused_without_sign_in(address: str | None = None):
    rows = AuditEntry.objects.filter(event=Event.REFUSED, actor__isnull=True)
    return rows.filter(remote_addr=address) if address else rows


def one_by_one(address: str) -> int:
    return refused_without_sign_in(address).exclude(reason__contains="further requests").count()


def counted(address: str) -> list[tuple[int, str]]:
    """The entries for refusals past the limit: (how many, which minute)."""
    out = []
    for reason in refused_without_sign_in(address).values_list("reason", flat=True):
        match = FURTHER.match(reason)
        if match:
            out.append((int(match[1]), match[2]))
    return sorted(out, key=lambda c: c[1])


def post_without_csrf(client) -> int:
    return client.post(reverse("accounts:sign-in"), {"username": "x@test.invalid", "password": "wrong"}).status_code


def random_link(client) -> int:
    return client.get(reverse("accounts:account-link", args=[secrets.token_urlsafe(24)])).status_code


def flush():
    from audit.core.refusals import flush_refusal_tallies

    return flush_refusal_tallies()


def test_past_the_limit_a_minutes_refusals_become_one_entry_with_their_number():
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.7")
    with time_machine.travel(a_minute(), tick=False):
        assert {post_without_csrf(client) for _ in range(12)} == {403}
        assert {random_link(client) for _ in range(13)} == {404}
    assert one_by_one("203.0.113.7") == LIMIT  # 25 refusals, 10 entries so far
    with time_machine.travel(a_minute(1), tick=False):
        assert flush() == 1
    assert one_by_one("203.0.113.7") == LIMIT
    assert counted("203.0.113.7") == [(15, f"{a_minute():%Y-%m-%d %H:%M}")]
    from audit.core.models_refusals import RefusalTally

    assert not RefusalTally.objects.exists()


def test_the_minute_is_counted_on_only_after_it_is_over():
    from audit.core.models_refusals import RefusalTally

    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.8")
    with time_machine.travel(a_minute(), tick=False):
        for _ in range(LIMIT + 3):
            post_without_csrf(client)
        assert flush() == 0  # the minute is not over: nothing written, nothing lost
    assert RefusalTally.objects.get().count == LIMIT + 3
    with time_machine.travel(a_minute(1), tick=False):
        assert flush() == 1
    assert counted("203.0.113.8") == [(3, f"{a_minute():%Y-%m-%d %H:%M}")]


def test_every_refusal_is_counted_exactly_once_across_minutes_and_addresses():
    per_minute = {"198.51.100.1": [4, 17, 10, 11], "198.51.100.2": [0, 31, 1, 12]}
    for minute in range(4):
        with time_machine.travel(a_minute(minute), tick=False):
            for address, counts in per_minute.items():
                client = Client(enforce_csrf_checks=True, REMOTE_ADDR=address)
                for i in range(counts[minute]):
                    (post_without_csrf if i % 2 else random_link)(client)
            flush()  # the beat's run: the minute before this one
    with time_machine.travel(a_minute(4), tick=False):
        flush()
    for address, counts in per_minute.items():
        assert one_by_one(address) == sum(min(c, LIMIT) for c in counts)
        assert counted(address) == [(c - LIMIT, f"{a_minute(m):%Y-%m-%d %H:%M}")
                                    for m, c in enumerate(counts) if c > LIMIT]


def test_a_made_up_forwarded_for_does_not_make_another_address():
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.9")
    with time_machine.travel(a_minute(), tick=False):
        for i in range(LIMIT + 5):
            client.post(reverse("accounts:sign-in"), {}, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    with time_machine.travel(a_minute(1), tick=False):
        flush()
    assert one_by_one("203.0.113.9") == LIMIT and counted("203.0.113.9")[0][0] == 5
    assert not refused_without_sign_in().exclude(remote_addr="203.0.113.9").exists()


def test_signed_in_refusals_are_still_an_entry_each(caseworker):
    before = AuditEntry.objects.filter(event=Event.REFUSED, actor=caseworker).count()
    with time_machine.travel(a_minute(), tick=False):
        client = sign_in_verified(Client(REMOTE_ADDR="203.0.113.12"), caseworker)
        for _ in range(LIMIT + 5):
            assert client.get("/records/999999999/").status_code == 404
    assert AuditEntry.objects.filter(event=Event.REFUSED, actor=caseworker).count() == before + LIMIT + 5


def test_the_sealers_beat_task_writes_the_count_and_seals_it():
    from audit.core.tasks import seal_pending

    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.10")
    with time_machine.travel(a_minute(), tick=False):
        for _ in range(LIMIT + 2):
            post_without_csrf(client)
    with time_machine.travel(a_minute(1), tick=False):
        seal_pending()
    [entry] = [e for e in refused_without_sign_in("203.0.113.10") if FURTHER.match(e.reason)]
    assert AuditSeal.objects.filter(entry_id=entry.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_requests_refused_at_the_same_time_are_counted_exactly():
    """Four clients at once from one address, 12 refusals each: 10 entries and one of 38."""
    moment = a_minute()
    errors: list[BaseException] = []

    def refuse_twelve():
        try:
            client = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.11")
            for _ in range(12):
                assert post_without_csrf(client) == 403
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    with time_machine.travel(moment, tick=False):
        threads = [threading.Thread(target=refuse_twelve) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors
    with time_machine.travel(a_minute(1), tick=False):
        flush()
    assert one_by_one("203.0.113.11") == LIMIT
    assert counted("203.0.113.11") == [(48 - LIMIT, f"{moment.astimezone(UTC):%Y-%m-%d %H:%M}")]
