"""Every write about people, memberships and sign-in links: keyword-only, an explicit actor
(`by=`), one transaction, and its audit entry inside it."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.queue import send_on_commit
from pause_portal.tenancy.identity import require_plain_email
from pause_portal.tenancy.models import (
    AccountLink,
    AccountLinkPurpose,
    Membership,
    MembershipStatus,
    Organisation,
    Person,
    Programme,
    SignedInSession,
)
from pause_portal.tenancy.roles import (
    ROLE_SPECS,
    SECOND_PERSON_ROLES,
    OrganisationKind,
    Role,
)
from sharing import caldicott_log
from sharing.handover import hand_over, hand_over_everywhere
from sharing.models_caldicott import Decision, DecisionKind
from sharing.models_delivery import CaseloadEndReason

# How long after redeeming a one-time link its session may set up two-step sign-in.
ENROLMENT_WINDOW = timedelta(minutes=30)


def _require_system_admin(by: Person | None, what: str) -> None:
    if by is None or not by.is_active or not by.is_system_admin:
        raise PermissionDenied(f"Only an active system administrator can {what}.")


def add_person(*, email: str, full_name: str, organisation: Organisation, by: Person | None) -> Person:
    """Add a member of staff. `by` may be None only to create the very first system administrator.
    The address is stored in its one form (lower-case, plain ASCII: ADR 21)."""
    email = require_plain_email(email)
    if by is None and Person.objects.filter(is_system_admin=True, is_active=True).exists():
        raise PermissionDenied("People are added by a system administrator (name one with --by).")
    if by is not None:
        _require_system_admin(by, "add people")
    if Person.objects.by_email(email).exists():
        raise ValidationError(f"Someone with the email address {email} already has an account.")
    with transaction.atomic():
        person = Person(email=email, full_name=full_name.strip(), organisation=organisation)
        person.set_unusable_password()
        person.full_clean(exclude=["password"])
        person.save()
        record_event(Event.PERSON_ADDED, actor=by, target=person, action=0)
    return person


def make_system_admin(*, person: Person, by: Person | None) -> Person:
    if by is not None:
        _require_system_admin(by, "appoint system administrators")
        if by.pk == person.pk:
            raise PermissionDenied("Nobody can appoint themselves.")
    elif Person.objects.filter(is_system_admin=True, is_active=True).exists():
        raise PermissionDenied("System administrators are appointed by another system administrator.")
    with transaction.atomic():
        person.is_system_admin = True
        person.save(update_fields=["is_system_admin"])
        record_event(Event.ROLE_CONFIRMED, actor=by, target=person, role=Role.SYSTEM_ADMIN, action=1)
    return person


def request_role(*, person: Person, programme: Programme, role: Role, by: Person) -> Membership:
    """Grant a role in a programme. Lead, DPO and Caldicott grants stay pending until a second
    person confirms them (`confirm_role`). Nobody grants a role to themselves: another system
    administrator must (ADR 21), and for a lead, DPO or Caldicott role a third person confirms."""
    role = Role(role)
    _require_system_admin(by, "grant roles")
    if by.pk == person.pk:
        raise PermissionDenied(
            "Nobody can grant themselves a role: another system administrator must grant it."
        )
    spec = ROLE_SPECS[role]
    if not spec.per_programme:
        raise ValidationError(f"{role.label} is not a programme role.")
    expected_org = programme.trust_id if spec.organisation_kind == OrganisationKind.TRUST else programme.pause_practice_id
    if person.organisation_id != expected_org:
        side = "the Trust" if spec.organisation_kind == OrganisationKind.TRUST else "the Pause practice"
        raise ValidationError(f"{role.label} is a role for people of {side} of {programme.name}.")
    if not person.is_active:
        raise ValidationError("A deactivated person cannot be given a role.")
    if Membership.objects.filter(
        person=person, programme=programme, status__in=[MembershipStatus.PENDING, MembershipStatus.ACTIVE]
    ).exists():
        raise ValidationError(
            f"This person already has a role in {programme.name}: change it instead (their page under People, "
            "or add_user --change)."
        )
    now = timezone.now()
    pending = role in SECOND_PERSON_ROLES
    with transaction.atomic():
        membership = Membership.objects.create(
            person=person,
            programme=programme,
            role=role,
            status=MembershipStatus.PENDING if pending else MembershipStatus.ACTIVE,
            requested_by=by,
            requested_at=now,
            confirmed_by=None if pending else by,
            confirmed_at=None if pending else now,
        )
        record_event(
            Event.ROLE_REQUESTED if pending else Event.ROLE_CONFIRMED,
            actor=by,
            target=membership,
            programme=programme,
            role=role,
            action=0,
        )
        if pending:
            send_on_commit("sharing.notify_grant_awaiting_confirmation", membership.pk, by.pk)
    return membership


def may_confirm(membership: Membership, by: Person) -> bool:
    if not by.is_active or by.pk in (membership.requested_by_id, membership.person_id):
        return False
    if by.is_system_admin:
        return True
    return Membership.objects.filter(
        person=by, programme_id=membership.programme_id, role=Role.CALDICOTT_GUARDIAN, status=MembershipStatus.ACTIVE
    ).exists()


def grant_in_words(membership: Membership) -> str:
    """How the Caldicott log names a grant: the role and the person's number, never their name."""
    return f"Grant of the {Role(membership.role).label} role to person #{membership.person_id}"


def confirm_role(*, membership: Membership, by: Person, justification: str) -> Membership:
    """The second person's confirmation, with their justification: a system administrator or the
    programme's Caldicott Guardian, never the person who asked and never the person receiving the
    role. Whichever of them confirms, the decision and its justification go into the programme's
    Caldicott log (ADR 45), which the DPO reads."""
    justification = caldicott_log.justified(justification, decision=Decision.CONFIRM,
                                            what=grant_in_words(membership).replace("Grant", "the grant", 1))
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.status != MembershipStatus.PENDING:
            raise ValidationError("This grant is not awaiting confirmation.")
        if not may_confirm(membership, by):
            raise PermissionDenied(
                "A grant is confirmed by a system administrator or the programme's Caldicott Guardian, "
                "and never by the person who asked for it or the person receiving it."
            )
        membership.status = MembershipStatus.ACTIVE
        membership.confirmed_by = by
        membership.confirmed_at = timezone.now()
        membership.save(update_fields=["status", "confirmed_by", "confirmed_at"])
        record_event(
            Event.ROLE_CONFIRMED, actor=by, target=membership, programme=membership.programme,
            role=membership.role, action=1,
        )
        caldicott_log.record(programme=membership.programme, kind=DecisionKind.ROLE_GRANT,
                             subject=grant_in_words(membership), subject_pk=membership.pk,
                             decision=Decision.CONFIRM, justification=justification, by=by)
    return membership


@dataclass(frozen=True)
class Revocation:
    membership: Membership
    sessions_ended: int
    assignments_ended: int
    permissions_removed: int


def revoke_role(*, membership: Membership, by: Person, portal_url: str = "") -> Revocation:
    """End a role (or withdraw a pending grant) at once: the membership is revoked, every session
    of the person ends (they sign in again under the roles they still hold), and their caseload in
    that programme is handed over to the Pause lead (`sharing.handover`: its assignments closed as
    "role revoked", its object permissions removed, the Pause leads emailed after the commit;
    `portal_url` is the address of the lead's list) — all in one transaction with the audit entries
    inside it. Revoking a revoked role changes nothing."""
    _require_system_admin(by, "revoke roles")
    with transaction.atomic():
        membership = Membership.objects.select_for_update().select_related("programme").get(pk=membership.pk)
        if membership.status == MembershipStatus.REVOKED:
            return Revocation(membership, 0, 0, 0)
        now = timezone.now()
        membership.status = MembershipStatus.REVOKED
        membership.revoked_by = by
        membership.revoked_at = now
        membership.save(update_fields=["status", "revoked_by", "revoked_at"])
        person = membership.person
        handed = hand_over(person, membership.programme, by=by, reason=CaseloadEndReason.ROLE_REVOKED, now=now,
                           portal_url=portal_url)
        assignments, removed = handed.assignments_ended, handed.permissions_removed
        sessions = end_sessions(person)
        record_event(
            Event.ROLE_REVOKED, actor=by, target=membership, programme=membership.programme,
            role=membership.role, action=1,
            reason=f"{sessions} session(s) ended; {assignments} caseload assignment(s) ended, "
                   f"{removed} caseload permission(s) removed",
        )
    return Revocation(membership, sessions, assignments, removed)


def end_sessions(person: Person) -> int:
    keys = list(SignedInSession.objects.filter(person=person).values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    SignedInSession.objects.filter(person=person).delete()
    return len(keys)


def deactivate_person(*, person: Person, by: Person, portal_url: str = "") -> Person:
    """People are deactivated, never deleted; their sessions end at once. The one place a person is
    deactivated (the People page and `manage.py deactivate_user` both call it): what else must happen
    when someone leaves belongs here, in this transaction. A practitioner's caseload in every
    programme is handed over to its Pause lead ("practitioner left", `sharing.handover`; the Pause
    leads are emailed after the commit, `portal_url` being the address of their list)."""
    _require_system_admin(by, "deactivate people")
    if person.pk == by.pk:
        raise PermissionDenied("Nobody can deactivate themselves.")
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        if not person.is_active:
            return person
        now = timezone.now()
        person.is_active = False
        person.deactivated_at = now
        person.deactivated_by = by
        person.save(update_fields=["is_active", "deactivated_at", "deactivated_by"])
        ended = end_sessions(person)
        handed = hand_over_everywhere(person, by=by, now=now, portal_url=portal_url)
        record_event(
            Event.PERSON_DEACTIVATED, actor=by, target=person, action=1,
            reason=f"{ended} session(s) ended; {handed} woman/women handed over to the Pause lead",
        )
    return person


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_account_link(*, person: Person, purpose: AccountLinkPurpose, by: Person | None) -> str:
    """A single-use link secret (only its hash is stored). Earlier unused links of the same kind stop working."""
    purpose = AccountLinkPurpose(purpose)
    if purpose == AccountLinkPurpose.MFA_RESET or by is not None:
        _require_system_admin(by, "issue sign-in links")
    if not person.is_active:
        raise ValidationError("A deactivated person cannot be sent a sign-in link.")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        AccountLink.objects.filter(person=person, purpose=purpose, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        link = AccountLink.objects.create(
            person=person,
            purpose=purpose,
            token_hash=_hash(token),
            issued_by=by,
            issued_at=now,
            expires_at=now + timedelta(hours=settings.PORTAL_ACCOUNT_LINK_HOURS[purpose]),
        )
        record_event(Event.ACCOUNT_LINK_ISSUED, actor=by, target=link, reason=purpose.label, action=0)
    return token


def find_account_link(token: str) -> AccountLink | None:
    """The unused, unexpired link for this secret, or None (one answer for every failure)."""
    if not token or len(token) > 100:
        return None
    return (
        AccountLink.objects.select_related("person")
        .filter(token_hash=_hash(token), used_at__isnull=True, expires_at__gt=timezone.now(), person__is_active=True)
        .first()
    )


def redeem_account_link(*, link: AccountLink, new_password: str | None) -> Person:
    """Use a link once: set the password (a first link) and clear two-step sign-in so the person
    enrols a new device. The reset is recorded as a reset."""
    with transaction.atomic():
        link = AccountLink.objects.select_for_update().select_related("person").get(pk=link.pk)
        if link.used_at is not None or link.expires_at <= timezone.now():
            raise ValidationError("This link has already been used or has expired.")
        person = link.person
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
        if new_password:
            person.set_password(new_password)
            person.save(update_fields=["password"])
            record_event(Event.PASSWORD_SET, actor=person, target=person, action=1)
        removed, _ = TOTPDevice.objects.filter(user=person).delete()
        end_sessions(person)
        if link.purpose == AccountLinkPurpose.MFA_RESET:
            record_event(
                Event.MFA_RESET, actor=person, target=person, reason=f"reset by link #{link.pk} issued by "
                f"person #{link.issued_by_id}; {removed} device(s) removed", action=1,
            )
    return person


def enrolment_open(link: AccountLink | None, person: Person) -> bool:
    """Whether `link`, redeemed in the caller's session, still lets `person` set up two-step
    sign-in: theirs, redeemed less than ENROLMENT_WINDOW ago, the last link they redeemed, and no
    device confirmed since. A password alone never opens enrolment (ADR 21)."""
    if link is None or link.person_id != person.pk or link.used_at is None or not person.is_active:
        return False
    if link.used_at <= timezone.now() - ENROLMENT_WINDOW:
        return False
    if AccountLink.objects.filter(person=person, used_at__gt=link.used_at).exists():
        return False
    return not TOTPDevice.objects.filter(user=person, confirmed=True).exists()


def enrol_totp_device(*, person: Person, device: TOTPDevice, link: AccountLink) -> TOTPDevice:
    """Confirm the person's new authenticator, only inside the enrolment a redeemed one-time link
    opened (`enrolment_open`), and email the person after commit that it happened."""
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).first()  # one enrolment at a time
        link = AccountLink.objects.filter(pk=link.pk).first()
        device = TOTPDevice.objects.filter(pk=device.pk, user=person, confirmed=False).first()
        if device is None or not enrolment_open(link, person):
            raise PermissionDenied(
                "Two-step sign-in is set up only from a one-time link, in the browser that opened it, "
                f"within {int(ENROLMENT_WINDOW.total_seconds() // 60)} minutes."
            )
        TOTPDevice.objects.filter(user=person).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        now = timezone.now()
        record_event(Event.MFA_ENROLLED, actor=person, target=person, action=1, reason=f"from link #{link.pk}")
        send_on_commit("sharing.tell_person_of_enrolment", person.pk, now.isoformat())
    return device
