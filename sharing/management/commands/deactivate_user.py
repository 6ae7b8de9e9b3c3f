from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from pause_portal.tenancy.models import Person
from sharing import actions


class Command(BaseCommand):
    help = "Deactivate a person (never deleted) and end all their sessions at once."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--by", required=True, help="Email of the system administrator doing this.")

    def handle(self, *args, **opts):
        person = Person.objects.by_email(opts["email"]).first()
        by = Person.objects.by_email(opts["by"]).filter(is_active=True).first()
        if person is None or by is None:
            raise CommandError("No such person (check both email addresses).")
        try:
            actions.deactivate_person(person=person, by=by)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{person.email} is deactivated; their sessions have ended.")
