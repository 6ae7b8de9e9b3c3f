"""Every kind of reminder the portal sends (ADR 47), each with the function that says what waits
now. Listed here, in the top layer, because the things reminded of live in every layer below: the
DPIA's review date and waiting confirmations in sharing, breaches and rights requests in the DPO's
oversight. `audit.core.reminders` sends, records and clears; `audit.send_reminders` runs them all
every quarter of an hour."""

from __future__ import annotations

from audit.core.reminders import Provider, run
from audit.oversight.breach_reminders import breach_clock

PROVIDERS: dict[str, Provider] = {"breach_clock": breach_clock}


def run_all(now=None) -> dict[str, int]:
    return run(PROVIDERS, now=now)
