"""The breach clock's reminders (issue 23, point 4; ADR 49, on the reminder core of ADR 47): for
every open breach whose ICO decision is not recorded, a reminder to the DPO(s) concerned 24, 48 and
66 hours after the controller became aware of it (`Breach.aware_at`, not when a form was filed).
Once the decision is recorded (told, or why not), nothing more is sent and the reminder clears.

Who: the programme's Trust DPOs, always; Pause's DPO too (the agreement's address) when Pause's
side is involved. The text names the programme and the hours passed: no breach reference, no name,
no woman's reference.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.urls import reverse

from audit.core.models_rights import Breach, BreachStatus
from audit.core.reminders import Due
from audit.oversight.breach_reports import pause_dpo_address, trust_dpos

KIND = "breach_clock"
STAGES = ((66, "66h"), (48, "48h"), (24, "24h"))  # latest first


def stage_at(aware_at: datetime, now: datetime) -> str:
    """The latest stage reached since the controller became aware ("" before 24 hours)."""
    passed = now - aware_at
    return next((name for hours, name in STAGES if passed >= timedelta(hours=hours)), "")


def breach_clock(now: datetime) -> list[Due]:
    """One `Due` for every open breach whose ICO decision waits."""
    waiting = (Breach.objects.filter(status=BreachStatus.OPEN, ico_told_at__isnull=True, ico_not_told_reason="")
               .select_related("programme").order_by("pk"))
    link = reverse("rights:breaches")
    dues = []
    for breach in waiting:
        programme = breach.programme
        stage = stage_at(breach.aware_at, now)
        hours = stage.removesuffix("h")
        who = "the Trust and Pause" if breach.pause_side else "the Trust"
        addresses = (pause_dpo_address(programme),) if breach.pause_side and stage else ()
        subject = f"A personal data breach in {programme.name}: {hours} hours of 72 have passed"
        body = (f"A personal data breach in the programme {programme.name}: {hours} hours of 72 have passed since "
                f"{who} became aware of it. Record whether the ICO is told, and if not why not, in the breach "
                f"register: {link}\n\nThis email carries no details: they are in the portal.\n")
        dues.append(Due(item=f"audit.breach:{breach.pk}", stage=stage, programme_id=programme.pk,
                        recipients=tuple(p.pk for p in trust_dpos(programme.pk)) if stage else (),
                        addresses=tuple(a for a in addresses if a),
                        subject=subject if stage else "", body=body if stage else "",
                        headline=(f"A breach: {hours} hours of 72 passed; record the ICO decision"
                                  if stage else ""), link=link))
    return dues
