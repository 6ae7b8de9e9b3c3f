"""Reminders of what has waited more than 3 days for a second person's confirmation (issue 23,
point 6; ADR 47). Here, in the top layer, because the things live in every layer below:

- a phase change (`sharing.PhaseChange`, proposed): the Caldicott Guardian or another Trust lead;
- a version of the data-sharing agreement (`sharing.Agreement`, proposed): the Caldicott Guardian;
- a version of a privacy notice (`sharing.PrivacyNotice`, proposed): the Caldicott Guardian, or
  for Pause's notice another Pause lead;
- a statutory power (`sharing.StatutoryPower`, proposed): the Caldicott Guardian;
- a role grant (`sharing.Membership`, pending): a system administrator or the programme's
  Caldicott Guardian, never the person who asked for it nor the person it is for;
- the DPO's erasure or upheld objection (`audit.RightsProposal`, pending): the Caldicott Guardian.

Each is reminded once, at stage "3d", three days after it was proposed, to everyone who may decide
it now: the same rule each action applies (`may_decide` and its kin), asked of each active member
of the programme (and each system administrator for grants), so the proposer is never among them.
Once confirmed, rejected or withdrawn it is no longer reported, and the next sweep clears the
reminder from the dashboards.

The email and the headline say what kind of thing waits, in which programme and for how long:
never who proposed it, whom a grant is for, a version's text or a request's reference."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.urls import reverse

from audit.core.models_rights import ProposalStatus, RightsProposal
from audit.core.reminders import Due
from pause_portal.tenancy.models import Membership, MembershipStatus, Person, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in, pending_grants_for
from sharing import agreements, privacy_notices, reminder_text, statutory_powers
from sharing.models_notices import Controller, PrivacyNotice
from sharing.models_powers import StatutoryPower
from sharing.models_scoping import Agreement, ChangeStatus, PhaseChange
from sharing.phases import may_decide_phase_change

KIND = "confirmation_waiting"
WAIT = timedelta(days=3)
STAGE = "3d"


@dataclass(frozen=True)
class Waiting:
    """One kind of thing that waits: what it is called, where it is listed, how to find those
    waiting, when each was proposed, and who may decide it."""

    what: Callable[[object], str]  # "a phase change", "a new version of the Trust's privacy notice"
    page: str
    url: str
    waiting: Callable[[], Iterable]
    proposed_at: Callable[[object], datetime]
    may_decide: Callable[[object, Person], bool]
    candidates: Callable[[object], Iterable[Person]] | None = None  # default: the programme's active members


def _members(programme_id: int) -> list[Person]:
    return list(Person.objects.filter(is_active=True, memberships__programme_id=programme_id,
                                      memberships__status=MembershipStatus.ACTIVE).distinct().order_by("pk"))


def _grant_candidates(grant: Membership) -> list[Person]:
    admins = Person.objects.filter(is_active=True, is_system_admin=True).order_by("pk")
    return list({p.pk: p for p in [*_members(grant.programme_id), *admins]}.values())


def _may_confirm_grant(grant: Membership, person: Person) -> bool:
    return pending_grants_for(person).filter(pk=grant.pk).exists()


def _may_confirm_rights(proposal: RightsProposal, person: Person) -> bool:
    """As `audit.oversight.proposals.confirm`: the programme's Caldicott Guardian, never the proposer."""
    membership = membership_in(person, proposal.programme_id)
    return (person.pk != proposal.proposed_by_id and membership is not None
            and role_has(membership.role, Perm.CONFIRM_RIGHTS_DECISIONS))


def _notice_what(notice: PrivacyNotice) -> str:
    return ("a new version of the Trust's privacy notice" if notice.controller == Controller.TRUST
            else "a new version of Pause's privacy notice")


def _rights_what(proposal: RightsProposal) -> str:
    # An erasure and an upheld objection are worded alike: which one it is says something about her.
    return "a decision of the data protection officer on a rights request"


def kinds() -> dict[str, Waiting]:
    return {
        "sharing.phasechange": Waiting(
            what=lambda c: "a phase change", page="Phase", url=reverse("governance:phase"),
            waiting=lambda: PhaseChange.objects.filter(status=ChangeStatus.PROPOSED).select_related("programme"),
            proposed_at=lambda c: c.proposed_at, may_decide=lambda c, p: may_decide_phase_change(c, p)),
        "sharing.agreement": Waiting(
            what=lambda a: "a new version of the data-sharing agreement", page="Data-sharing agreement",
            url=reverse("governance:agreement-decide"),
            waiting=lambda: Agreement.objects.filter(status=ChangeStatus.PROPOSED).select_related("programme"),
            proposed_at=lambda a: a.proposed_at, may_decide=agreements.may_decide),
        "sharing.privacynotice": Waiting(
            what=_notice_what, page="Privacy notices", url=reverse("governance:notices"),
            waiting=lambda: PrivacyNotice.objects.filter(status=ChangeStatus.PROPOSED).select_related("programme"),
            proposed_at=lambda n: n.proposed_at, may_decide=privacy_notices.may_decide),
        "sharing.statutorypower": Waiting(
            what=lambda s: "a new statutory power", page="Statutory powers", url=reverse("governance:powers"),
            waiting=lambda: StatutoryPower.objects.filter(status=ChangeStatus.PROPOSED).select_related("programme"),
            proposed_at=lambda s: s.proposed_at, may_decide=statutory_powers.may_decide),
        "sharing.membership": Waiting(
            what=lambda m: "a role grant", page="Your dashboard", url=reverse("dashboard"),
            waiting=lambda: Membership.objects.filter(status=MembershipStatus.PENDING).select_related("programme"),
            proposed_at=lambda m: m.requested_at, may_decide=_may_confirm_grant, candidates=_grant_candidates),
        "audit.rightsproposal": Waiting(
            what=_rights_what, page="Decisions awaiting your confirmation", url=reverse("rights:confirmations"),
            waiting=lambda: RightsProposal.objects.filter(status=ProposalStatus.PENDING).select_related("programme"),
            proposed_at=lambda r: r.proposed_at, may_decide=_may_confirm_rights),
    }



def _due(label: str, kind: Waiting, thing, programme: Programme, waited: timedelta) -> Due:
    days = max(3, waited.days)
    candidates = kind.candidates(thing) if kind.candidates else _members(thing.programme_id)
    recipients = tuple(p.pk for p in candidates if kind.may_decide(thing, p))
    what = kind.what(thing)
    waits = f"{what[0].upper()}{what[1:]} in the programme {programme.name}"
    sentence = (f"{waits} has waited {reminder_text.days(days)} for a second person's confirmation, "
                f"and you may confirm or reject it.")
    return Due(item=f"{label}:{thing.pk}", stage=STAGE, programme_id=programme.pk, recipients=recipients,
               subject=f"Reminder: {what} in {programme.name} waits for confirmation",
               body=reminder_text.body(sentence, page=kind.page, link=kind.url),
               headline=f"{what[0].upper()}{what[1:]} has waited {reminder_text.days(days)} for "
                        f"confirmation", link=kind.url)


def confirmations_waiting(now: datetime) -> Iterator[Due]:
    """One `Due` for every thing waiting for a second person; with stage "3d" after 3 days."""
    for label, kind in kinds().items():
        for thing in kind.waiting():
            waited = now - kind.proposed_at(thing)
            if waited < WAIT:
                yield Due(item=f"{label}:{thing.pk}", programme_id=thing.programme_id)
            else:
                yield _due(label, kind, thing, thing.programme, waited)
