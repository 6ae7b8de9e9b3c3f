"""Provision a person, or a role for them, and print a one-time link to set a password and
set up two-step sign-in.

    manage.py add_user EMAIL --organisation NAME [--name "Full Name"] [--programme NAME --role ROLE] --by ADMIN_EMAIL

Lead, DPO and Caldicott Guardian roles stay pending until a second person confirms them: run the
same command again for that person, programme and role with `--by` naming a different system
administrator and `--justification` saying why (it goes into the programme's Caldicott log, which
its DPO reads: ADR 45), or confirm on the portal's grants page. Nobody grants a role to
themselves: `--by` naming the person receiving it is refused.

Someone who already holds (or awaits) another role in the programme is moved to the new one with
`--change`, as one audited step (`sharing.role_changes.change_role`): the old role ends at once,
with their sessions and their caseload there, and the new one is granted (a lead, DPO or Caldicott
role then waits for confirmation as above). Without `--change` the command says so and changes
nothing. On the portal, the People page does the same with a confirmation page, and emails a new
person's link to them instead of showing it.

The email address is matched and stored in one form (lower-case, plain ASCII), so
`Jo@Example.org` and `jo@example.org` are one person.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from pause_portal.tenancy.models import (
    AccountLinkPurpose,
    Membership,
    MembershipStatus,
    Organisation,
    Person,
    Programme,
)
from pause_portal.tenancy.roles import Role
from sharing import actions
from sharing.role_changes import change_role


class Command(BaseCommand):
    help = "Add a person (or a role for them) and print a one-time link to set a password and enrol MFA."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--organisation", required=True, help="The organisation's name (a Trust or a Pause practice).")
        parser.add_argument("--name", default="", help="Full name (required for a new person).")
        parser.add_argument("--programme", default="", help="The programme's name (for a programme role).")
        parser.add_argument("--role", default="", choices=[r.value for r in Role] + [""], help="The role to grant.")
        parser.add_argument("--by", default="", help="Email of the system administrator doing this (not needed only for the very first one).")
        parser.add_argument("--change", action="store_true",
                            help="Move someone who holds another role in the programme to this one (their old role "
                                 "ends at once, with their sessions and caseload there).")
        parser.add_argument("--justification", default="",
                            help="Why you confirm a pending grant (needed to confirm one; it goes into the "
                                 "programme's Caldicott log: give reasons, never a woman's or child's details).")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="Where the portal is served, for the printed link.")

    def handle(self, *args, **opts):
        try:
            with transaction.atomic():
                return self._handle(**opts)
        except (PermissionDenied, ValidationError) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", None) or [str(exc)])) from exc

    def _handle(self, **opts):
        by = None
        if opts["by"]:
            by = Person.objects.by_email(opts["by"]).filter(is_active=True).first()
            if by is None:
                raise CommandError(f"No active person with the email address {opts['by']}.")
        organisation = Organisation.objects.filter(name=opts["organisation"]).first()
        if organisation is None:
            raise CommandError(f"No organisation called {opts['organisation']!r}. Create it in the admin first.")
        # The one form of the address (ADR 21): however it is typed, one person.
        person = Person.objects.by_email(opts["email"]).first()
        new = person is None
        if new:
            if not opts["name"]:
                raise CommandError("A new person needs --name.")
            person = actions.add_person(email=opts["email"], full_name=opts["name"], organisation=organisation, by=by)
            self.stdout.write(f"Added {person.email} ({organisation.name}).")
        elif person.organisation_id != organisation.pk:
            raise CommandError(f"{person.email} belongs to {person.organisation.name}, not {organisation.name}.")

        role = Role(opts["role"]) if opts["role"] else None
        if role == Role.SYSTEM_ADMIN:
            actions.make_system_admin(person=person, by=by)
            self.stdout.write(f"{person.email} is a system administrator.")
        elif role is not None:
            self._grant(person, role, opts["programme"], by, change=opts["change"],
                        justification=opts["justification"])

        if new:
            token = actions.issue_account_link(person=person, purpose=AccountLinkPurpose.SET_PASSWORD, by=by)
            url = opts["base_url"].rstrip("/") + reverse("accounts:account-link", args=[token])
            self.stdout.write(f"One-time link (expires in 72 hours; pass it on by a trusted channel):\n{url}")

    def _grant(self, person: Person, role: Role, programme_name: str, by: Person | None, *, change: bool,
               justification: str) -> None:
        if not programme_name:
            raise CommandError(f"{role.label} is held in a programme: name it with --programme.")
        programme = Programme.objects.filter(name=programme_name).first()
        if programme is None:
            raise CommandError(f"No programme called {programme_name!r}.")
        if by is None:
            raise CommandError("Granting a role needs --by (the system administrator doing it).")
        held = Membership.objects.filter(
            person=person, programme=programme, status__in=[MembershipStatus.PENDING, MembershipStatus.ACTIVE]
        ).first()
        if held is not None and held.role == role:
            if held.status == MembershipStatus.PENDING:
                actions.confirm_role(membership=held, by=by, justification=justification)
                self.stdout.write(f"Confirmed: {role.label} in {programme.name} (asked by person #{held.requested_by_id}).")
            else:
                self.stdout.write(f"{person.email} already holds {role.label} in {programme.name}: nothing changed.")
            return
        if held is not None:
            if not change:
                raise CommandError(
                    f"{person.email} holds {held.get_role_display()} in {programme.name}"
                    f"{' (awaiting confirmation)' if held.status == MembershipStatus.PENDING else ''}. To move them "
                    f"to {role.label} in one step, run this again with --change: their current role ends at once, "
                    f"with their sessions and their caseload in {programme.name}. Nothing changed."
                )
            done = change_role(membership=held, role=role, by=by)
            self.stdout.write(f"Ended: {held.get_role_display()} in {programme.name} "
                              f"({done.revocation.sessions_ended} session(s) and "
                              f"{done.revocation.assignments_ended} caseload assignment(s) ended).")
            membership = done.granted
        else:
            membership = actions.request_role(person=person, programme=programme, role=role, by=by)
        if membership.status == MembershipStatus.PENDING:
            self.stdout.write(
                f"{role.label} in {programme.name} is awaiting confirmation by a second person (another system "
                "administrator or the programme's Caldicott Guardian): run this command again with their --by and "
                "a --justification, or confirm it in the portal."
            )
        else:
            self.stdout.write(f"Granted: {role.label} in {programme.name}.")
