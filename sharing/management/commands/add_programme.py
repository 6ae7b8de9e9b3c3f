from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.tenancy.models import Organisation, Programme
from pause_portal.tenancy.roles import OrganisationKind


class Command(BaseCommand):
    help = "Add a programme joining one Trust and one Pause practice (it starts in scoping)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--trust", required=True)
        parser.add_argument("--pause-practice", required=True)

    def handle(self, *args, **opts):
        trust = Organisation.objects.filter(name=opts["trust"], kind=OrganisationKind.TRUST).first()
        pause = Organisation.objects.filter(name=opts["pause_practice"], kind=OrganisationKind.PAUSE).first()
        if trust is None:
            raise CommandError(f"No Trust called {opts['trust']!r} (add it with add_organisation --kind trust).")
        if pause is None:
            raise CommandError(f"No Pause practice called {opts['pause_practice']!r} (add_organisation --kind pause).")
        if Programme.objects.filter(name=opts["name"]).exists():
            raise CommandError(f"A programme called {opts['name']!r} already exists.")
        with transaction.atomic():
            programme = Programme.objects.create(name=opts["name"], trust=trust, pause_practice=pause)
            record_event(Event.CHANGE, actor=None, target=programme, programme=programme,
                         reason="programme added by command", action=0)
        self.stdout.write(f"Added {programme.name}: {trust.name} with {pause.name}, in scoping.")
