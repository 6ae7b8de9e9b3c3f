"""Each verification of the audit trail's hash chain, recorded (issue 23, point 7; ADR 46).

`verify()` (audit.core.sealing_verify) only answered the person who ran it: nothing kept that it
had run, so the promises page had no evidence that anyone checks the trail. Each run of
`manage.py verify_audit_trail` now writes one audit entry with a fixed reason prefix, saying
whether the chain held and how far it reached. The newest such entry is the evidence.
"""

from __future__ import annotations

from audit.core.log import record_event
from audit.core.models import AuditEntry, Event
from audit.core.sealing_verify import Verification

VERIFIED = "audit trail verified"
NOT_VERIFIED = "audit trail verification failed"


def record_verification(result: Verification, *, by=None) -> AuditEntry:
    """One entry for one run of the verification: held or not, the links checked, the problems."""
    reach = (f"links {result.first_seq}-{result.last_seq} ({result.links} links), {result.checkpoints} "
             f"checkpoints, {result.unsealed} entries not yet sealed")
    if result.ok:
        return record_event(Event.CHANGE, actor=by, reason=f"{VERIFIED}: {reach}")
    return record_event(Event.CHANGE, actor=by, reason=f"{NOT_VERIFIED}: {reach}; " + "; ".join(result.problems))


def latest_verification() -> AuditEntry | None:
    """The newest recorded verification, held or not."""
    return (AuditEntry.objects.filter(event=Event.CHANGE, reason__startswith="audit trail verif")
            .order_by("-timestamp", "-pk").first())


def held(entry: AuditEntry) -> bool:
    return entry.reason.startswith(VERIFIED + ":")
