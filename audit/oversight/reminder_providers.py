"""Every kind of reminder the portal sends (ADR 47), each with the function that says what waits
now. Listed here, in the top layer, because the things reminded of live in every layer below: the
DPIA's review date and waiting confirmations in sharing, breaches and rights requests in the DPO's
oversight. `audit.core.reminders` sends, records and clears; `audit.send_reminders` runs them all
every quarter of an hour."""

from __future__ import annotations

from audit.core.reminders import Provider, run
from audit.oversight import confirmation_reminders, rights_reminders
from audit.oversight.breach_reminders import breach_clock
from sharing import concern_reminders
from sharing.dpia_reminders import dpia_review_due

PROVIDERS: dict[str, Provider] = {
    # Issue 23, point 2: the DPIA's review date, 30 and 7 days before and once passed.
    "dpia_review": dpia_review_due,
    # Issue 23, point 4: a breach's 72 hours, at 24, 48 and 66 hours until the ICO decision.
    "breach_clock": breach_clock,
    # Issue 23, point 6: rights requests 7 days and 1 day before they are due (and once overdue),
    # concerns unacknowledged after the programme's working days, confirmations waiting 3 days.
    rights_reminders.KIND: rights_reminders.rights_due,
    concern_reminders.KIND: concern_reminders.unacknowledged,
    confirmation_reminders.KIND: confirmation_reminders.confirmations_waiting,
}


def run_all(now=None) -> dict[str, int]:
    return run(PROVIDERS, now=now)
