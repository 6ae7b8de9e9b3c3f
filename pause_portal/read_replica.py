"""Which database the heavy read-only reports read from: a streaming replica when one is named
(PORTAL_READ_REPLICA_DATABASE_URL makes the `replica` alias), else the one database.

`reading_alias()` is asked when a report's queryset is built, so a test can add the alias for its
own duration. Only whole querysets are sent there (`.using(...)` on the outermost one): their
subqueries run in the same statement. Nothing is ever written through it — the settings open it
read-only — and what a report records about itself (the search's record, its audit entry) goes to
the primary as every write does.

A replica lags its primary by its replay delay (usually well under a second on a healthy standby):
an entry written that moment ago may not be in a search yet. The search's own record and entry are
written to the primary, so nothing the DPO does is lost to the lag.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA_ALIAS = "replica"


def reading_alias() -> str:
    return REPLICA_ALIAS if REPLICA_ALIAS in connections.settings else DEFAULT_DB_ALIAS

