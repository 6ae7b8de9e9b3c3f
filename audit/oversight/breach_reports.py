"""Suspected breaches (issue 23, point 4; ADR 49): anyone in a programme reports one, the DPO of
the controller concerned is told, and the Trust's DPO triages it — into the breach register, or
dismissed with a reason. A monitoring flag can be escalated into a breach the same way.

Who is told: the Trust's DPO(s) of the programme, of every report; Pause's DPO too (the address
in the data-sharing agreement in force, `Agreement.pause_dpo_email`) when Pause's side is
involved, which it always is when a Pause role reports. Emails carry no identifier: the
programme's name, that a suspected breach was reported, the reporter's role, and the link.

The reporter's account is encrypted (it may say who, whatever the form asks). Filing it changes
nothing else; the reporter sees a confirmation, never the register.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from audit.core.models_review import MonitoringFlag
from audit.core.models_rights import Breach, BreachRisk, ReportStatus, SuspectedBreach, Systems
from audit.oversight.breaches import _keeper, _text, protector_for, record_breach
from eligibility.disclosure import disclose
from pause_portal.queue import send_on_commit
from pause_portal.refused import Refused
from pause_portal.tenancy.models import Person, Programme
from pause_portal.tenancy.roles import (
    ROLE_SPECS,
    OrganisationKind,
    Perm,
    Role,
    role_has,
)
from pause_portal.tenancy.selectors import membership_in, people_with
from sharing.scoping_term import current_agreement

REPORT_MAX = 2000  # short: what happened, not who
logger = logging.getLogger(__name__)


class ReportRefused(Refused):
    """A suspected-breach report (or its triage) that cannot go ahead; nothing was written. (A
    breach refused while recording one from a report is a `BreachRefused`: callers catch `Refused`.)"""


def pause_role(role: Role | str) -> bool:
    return ROLE_SPECS[Role(role)].organisation_kind == OrganisationKind.PAUSE


def trust_dpos(programme_id: int) -> list[Person]:
    """The programme's Trust DPOs: the people who keep its breach register."""
    return list(people_with(programme_id, Perm.KEEP_BREACH_REGISTER))


def pause_dpo_address(programme: Programme) -> str:
    """Pause's DPO's address, from the agreement in force ("" when none is recorded)."""
    agreement = current_agreement(programme)
    return agreement.pause_dpo_email if agreement is not None else ""


# --- reporting ----------------------------------------------------------------------------------
def report_suspected_breach(*, programme: Programme, by: Person, what_happened: str, noticed_at: datetime | None,
                            pause_side: bool, systems: Systems | str, portal_url: str = "") -> SuspectedBreach:
    """Anyone in the programme reports a suspected breach. Pause's side is involved whenever a
    Pause role reports it. Writes the report and an audit entry; the DPOs are told after commit."""
    membership = membership_in(by, programme.pk)
    if membership is None or not role_has(membership.role, Perm.REPORT_SUSPECTED_BREACH):
        raise ReportRefused("Only someone with a role in the programme can report a suspected breach in it.")
    what_happened = _text(what_happened, "what happened", limit=REPORT_MAX)
    if noticed_at is None:
        raise ReportRefused("Enter when it happened or was noticed.")
    now = timezone.now()
    if noticed_at > now:
        raise ReportRefused("When it happened or was noticed must be now or in the past.")
    try:
        systems = Systems(systems)
    except ValueError:
        raise ReportRefused("Select whose systems or devices are involved.") from None
    pause_side = bool(pause_side) or pause_role(membership.role) or systems in (Systems.PAUSE, Systems.BOTH)
    with transaction.atomic():
        report = SuspectedBreach(programme=programme, noticed_at=noticed_at, pause_side=pause_side, systems=systems,
                                 reported_by=by, reporter_role=membership.role, reported_at=now)
        report.protect(protector_for(programme.pk), what_happened=what_happened)
        report.save()
        record_event(Event.CHANGE, actor=by, target=report, programme=programme, role=membership.role, action=0,
                     reason=f"suspected breach #{report.pk} reported"
                            + (" (Pause's side involved)" if pause_side else ""))
        send_on_commit("audit.tell_of_suspected_breach", report.pk, portal_url)
    return report


def report_notice(programme: Programme, role: str, portal_url: str, *, pause: bool) -> tuple[str, str]:
    """The notice's subject and body: the programme's name, the reporter's role, the link. No
    identifier: not the report's number, not what happened."""
    subject = f"A suspected personal data breach was reported in {programme.name}"
    side = ("Pause's side is involved: Pause, as a controller, has its own duty to decide whether to tell "
            "the ICO within 72 hours of becoming aware.\n\n") if pause else ""
    body = (f"A {Role(role).label} reported a suspected personal data breach in the programme {programme.name}.\n\n"
            f"{side}The 72 hours to tell the ICO run from when the controller became aware of the breach. "
            f"Sign in to the portal to triage it{': ' + portal_url if portal_url else ''}.\n\n"
            "This email carries no details: they are in the portal.\n")
    return subject, body


def tell_of_report(*, report_id: int, portal_url: str = "") -> int:
    """Email the Trust's DPOs (always) and Pause's DPO (Pause's side involved) that a report waits.
    Returns how many addresses were told."""
    report = SuspectedBreach.objects.select_related("programme").filter(pk=report_id).first()
    if report is None:
        return 0
    programme = report.programme
    messages = []
    dpos = trust_dpos(programme.pk)
    subject, body = report_notice(programme, report.reporter_role, portal_url, pause=report.pause_side)
    messages += [(subject, body, settings.DEFAULT_FROM_EMAIL, [p.email]) for p in dpos]
    pause_address = pause_dpo_address(programme) if report.pause_side else ""
    if pause_address:
        messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [pause_address]))
    if not dpos:
        logger.warning("suspected breach #%s: no active DPO in programme #%s to tell", report.pk, programme.pk)
    if report.pause_side and not pause_address:
        logger.warning("suspected breach #%s: Pause's side involved but no Pause DPO address in the agreement",
                       report.pk)
    if messages:
        send_mass_mail(messages, fail_silently=False)
    record_event(Event.CHANGE, target=report, programme=programme, action=1,
                 reason=f"suspected breach #{report.pk}: the Trust's DPO told ({len(dpos)} people)"
                        + ("; Pause's DPO told" if pause_address else ""))
    return len(messages)


# --- the DPO's triage ---------------------------------------------------------------------------
def waiting_reports(programme_id: int):
    return SuspectedBreach.objects.filter(programme_id=programme_id, status=ReportStatus.WAITING)


def reports_of(programme_id: int):
    return SuspectedBreach.objects.filter(programme_id=programme_id).select_related("breach")


def account_of(report: SuspectedBreach, *, by: Person, page: str) -> str | None:
    """The reporter's account, decrypted through the disclosure policy (one entry); None if `by`
    may not read it."""
    shown = disclose(by, [report], page=page, reason="suspected breach")
    for _, served in shown.pairs():
        return served.get("what_happened") or ""
    return None


def _locked_waiting(report: SuspectedBreach) -> SuspectedBreach:
    locked = SuspectedBreach.objects.select_for_update().get(pk=report.pk)
    if locked.status != ReportStatus.WAITING:
        raise ReportRefused("This report has already been triaged.")
    return locked


def record_from_report(report: SuspectedBreach, *, by: Person, risk: BreachRisk | str, people_affected: str,
                       aware_at: datetime | None = None, aware_reason: str = "", affected_count: int | None = None,
                       actions_taken: str = "") -> Breach:
    """The DPO records the report as a breach. `aware_at` (when the controller became aware: the
    72 hours run from it) is the moment the report was filed unless the DPO says otherwise, with a
    reason; never later than now."""
    _keeper(by, report.programme_id)
    with transaction.atomic():
        locked = _locked_waiting(report)
        account = account_of(locked, by=by, page="triage")
        breach = record_breach(programme=locked.programme, what_happened=account or "", found_at=locked.noticed_at,
                               aware_at=aware_at or locked.reported_at, aware_default=locked.reported_at,
                               aware_reason=aware_reason, people_affected=people_affected, risk=risk,
                               affected_count=affected_count, actions_taken=actions_taken, by=by,
                               pause_side=locked.pause_side)
        locked.status, locked.breach, locked.triaged_by, locked.triaged_at = (
            ReportStatus.BREACH, breach, by, timezone.now())
        locked.save(update_fields=["status", "breach", "triaged_by", "triaged_at"])
        record_event(Event.CHANGE, actor=by, target=locked, programme=locked.programme, role=Role.DPO, action=1,
                     reason=f"suspected breach #{locked.pk} recorded as breach {breach.reference}")
    return breach


def dismiss_report(report: SuspectedBreach, *, by: Person, reason: str) -> SuspectedBreach:
    """The DPO decides it was not a personal data breach, and says why (no names)."""
    membership = _keeper(by, report.programme_id)
    reason = _text(reason, "why it is not a breach", limit=1000)
    with transaction.atomic():
        locked = _locked_waiting(report)
        locked.status, locked.dismissed_reason, locked.triaged_by, locked.triaged_at = (
            ReportStatus.DISMISSED, reason, by, timezone.now())
        locked.save(update_fields=["status", "dismissed_reason", "triaged_by", "triaged_at"])
        record_event(Event.CHANGE, actor=by, target=locked, programme=locked.programme, role=membership.role,
                     action=1, reason=f"suspected breach #{locked.pk} dismissed")
    return locked


def flag_reference(flag: MonitoringFlag) -> str:
    return f"audit.monitoringflag:{flag.pk}"


def escalate_flag(flag: MonitoringFlag, *, programme: Programme, by: Person, what_happened: str,
                  people_affected: str, risk: BreachRisk | str, aware_at: datetime | None = None,
                  aware_reason: str = "", pause_side: bool = False, affected_count: int | None = None,
                  actions_taken: str = "") -> Breach:
    """The DPO escalates a monitoring flag into a breach, carrying the flag's reference. The
    controller became aware now (the DPO's review) unless the DPO says otherwise, with a reason."""
    _keeper(by, programme.pk)
    if flag.programme_id not in (None, programme.pk):
        raise ReportRefused("This flag is not of this programme.")
    if flag.actor_id == by.pk:
        raise ReportRefused("This flag is about your own access: another DPO of the programme reviews it.")
    reference = flag_reference(flag)
    if Breach.objects.filter(flag_reference=reference).exists():
        raise ReportRefused("This flag has already been escalated into a breach.")
    now = timezone.now()
    return record_breach(programme=programme, what_happened=what_happened, found_at=min(flag.raised_at, now),
                         aware_at=aware_at or now, aware_default=now, aware_reason=aware_reason,
                         people_affected=people_affected, risk=risk, by=by, flag_reference=reference,
                         pause_side=pause_side, affected_count=affected_count, actions_taken=actions_taken)
