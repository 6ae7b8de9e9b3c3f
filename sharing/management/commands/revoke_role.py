"""End a person's role in a programme at once (or withdraw a grant still awaiting confirmation).

    manage.py revoke_role EMAIL --programme NAME --by ADMIN_EMAIL

Every session of the person ends (they sign in again under the roles they still hold) and their
caseload in the programme ends: its assignments are closed and its object permissions removed,
in the same transaction as the revocation and its audit entries (`sharing.actions.revoke_role`).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from pause_portal.tenancy.models import Membership, MembershipStatus, Person, Programme
from sharing import actions


class Command(BaseCommand):
    help = "Revoke a person's role in a programme: their sessions and caseload there end at once."

    def add_arguments(self, parser):
        parser.add_argument("email", help="The person whose role ends.")
        parser.add_argument("--programme", required=True, help="The programme's name.")
        parser.add_argument("--by", required=True, help="Email of the system administrator doing this.")

    def handle(self, *args, **opts):
        by = Person.objects.by_email(opts["by"]).filter(is_active=True).first()
        if by is None:
            raise CommandError(f"No active person with the email address {opts['by']}.")
        person = Person.objects.by_email(opts["email"]).first()
        if person is None:
            raise CommandError(f"No person with the email address {opts['email']}.")
        programme = Programme.objects.filter(name=opts["programme"]).first()
        if programme is None:
            raise CommandError(f"No programme called {opts['programme']!r}.")
        membership = Membership.objects.filter(
            person=person, programme=programme, status__in=[MembershipStatus.PENDING, MembershipStatus.ACTIVE]
        ).first()
        if membership is None:
            raise CommandError(f"{person.email} holds no role in {programme.name} (nothing changed).")
        try:
            done = actions.revoke_role(membership=membership, by=by)
        except (PermissionDenied, ValidationError) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", None) or [str(exc)])) from exc
        self.stdout.write(
            f"Revoked: {membership.get_role_display()} in {programme.name} for {person.email}. "
            f"{done.sessions_ended} session(s) ended; {done.assignments_ended} caseload assignment(s) ended and "
            f"{done.permissions_removed} caseload permission(s) removed."
        )
