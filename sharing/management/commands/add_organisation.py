from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.tenancy.models import Organisation
from pause_portal.tenancy.roles import OrganisationKind


class Command(BaseCommand):
    help = "Add an organisation (a Trust or a Pause practice). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--kind", required=True, choices=[k.value for k in OrganisationKind])

    def handle(self, *args, **opts):
        with transaction.atomic():
            org, created = Organisation.objects.get_or_create(name=opts["name"], defaults={"kind": opts["kind"]})
            if org.kind != opts["kind"]:
                raise CommandError(f"{org.name} already exists as a {org.get_kind_display()}.")
            if created:
                record_event(Event.CHANGE, actor=None, target=org, reason="organisation added by command", action=0)
        self.stdout.write(f"{'Added' if created else 'Already there:'} {org.name} ({org.get_kind_display()}).")
