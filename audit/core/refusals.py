"""Requests refused without sign-in, rate-limited per client address (issue 17, finding 8).

Anyone can make the portal refuse a request without signing in — a sign-in post without its CSRF
token, a made-up account link — and each refusal used to add a permanent entry to the six-year
trail. Now, per client address (`pause_portal.client_ip`: X-Forwarded-For believed only from a
trusted proxy, so a client cannot spread itself over addresses it makes up) and per UTC minute,
the first PORTAL_ANONYMOUS_REFUSALS_PER_MINUTE refusals (10 unless set) are entries of their own,
as before; the rest of that minute's are counted in `RefusalTally` and, once the minute is over,
become one entry saying how many (`flush_refusal_tallies`, run by the sealer's beat task before
it seals, and by `seal_audit_trail`). Nothing is lost: each refusal is counted in its own
request's transaction, and the flush deletes the rows it turns into entries in the same
transaction as those entries, so every refusal is either an entry of its own or counted in exactly
one. Refusals of signed-in people are not limited: each names its actor and stays an entry.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import AuditEntry, Event
from pause_portal import request_context
from pause_portal.client_ip import client_ip

# One statement for both databases (PostgreSQL, SQLite >= 3.35): the row is locked (PostgreSQL)
# or the database is (SQLite) from here to the commit, so the count read back is this request's.
_COUNT = ("INSERT INTO audit_refusaltally (address, minute, count, logged) VALUES (%s, %s, 1, 0) "
          "ON CONFLICT (address, minute) DO UPDATE SET count = audit_refusaltally.count + 1 RETURNING logged")
_LOGGED = "UPDATE audit_refusaltally SET logged = logged + 1 WHERE address = %s AND minute = %s"
_TAKE = "DELETE FROM audit_refusaltally WHERE minute < %s RETURNING address, minute, count, logged"


def per_minute_limit() -> int:
    return max(0, int(settings.PORTAL_ANONYMOUS_REFUSALS_PER_MINUTE))


def _minute(moment: datetime) -> int:
    return int(moment.timestamp() // 60)


def record_refusal_without_sign_in(request, status_code: int) -> AuditEntry | None:
    """Count this refusal against its address's minute; write its own entry while the minute's
    entries are under the limit. Returns the entry, or None when it was only counted."""
    address = client_ip(request)
    minute = _minute(timezone.now())
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_COUNT, [address, minute])
        logged = cur.fetchone()[0]
        if logged >= per_minute_limit():
            return None
        cur.execute(_LOGGED, [address, minute])
        return record_event(Event.REFUSED, status_code=status_code, reason=f"{request.method} refused")


def flush_refusal_tallies() -> int:
    """Turn every tally of a minute that is over into one entry for the refusals past the limit
    (none when there were none), and delete the tallies; returns how many entries were written."""
    written = 0
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_TAKE, [_minute(timezone.now())])
        for address, minute, count, logged in sorted(cur.fetchall(), key=lambda row: (row[1], str(row[0]))):
            if count <= logged:
                continue
            start = datetime.fromtimestamp(minute * 60, tz=UTC)
            token = request_context.bind(request_context.RequestContext(remote_addr=str(address)))
            try:
                record_event(Event.REFUSED, reason=(
                    f"{count - logged} further requests refused without sign-in from this address in the minute "
                    f"from {start:%Y-%m-%d %H:%M} UTC, past the {logged} with an entry each"))
            finally:
                request_context.reset(token)
            written += 1
    return written
