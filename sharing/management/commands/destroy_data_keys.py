from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.log import record_event
from audit.models import Event
from pseudonymisation import keys
from pseudonymisation.models import Purpose


class Command(BaseCommand):
    help = (
        "Destroy every version of a scope's data key (for example the scoping token key when scoping "
        "ends). Irreversible. Backups keep the wrapped keys until they expire."
    )

    def add_arguments(self, parser):
        parser.add_argument("--programme", type=int, required=True)
        parser.add_argument("--phase", required=True)
        parser.add_argument("--purpose", required=True, choices=[p.value for p in Purpose])
        parser.add_argument("--yes-destroy", action="store_true", help="Confirm: this cannot be undone.")

    def handle(self, *args, **opts):
        if not opts["yes_destroy"]:
            raise CommandError("Destroying keys cannot be undone: add --yes-destroy to confirm.")
        scope = keys.KeyScope(opts["programme"], opts["phase"], Purpose(opts["purpose"]))
        with transaction.atomic():
            count = keys.destroy(scope)
            record_event(Event.CHANGE, actor=None, reason=f"{count} version(s) of data key {scope.label()} destroyed", action=2)
        self.stdout.write(f"{scope.label()}: {count} key version(s) destroyed.")
