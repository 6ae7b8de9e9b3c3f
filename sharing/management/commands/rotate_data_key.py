from django.core.management.base import BaseCommand, CommandError

from audit.core.log import record_event
from audit.core.models import Event
from pseudonymisation import keys
from pseudonymisation.errors import PseudonymisationError
from pseudonymisation.models import Purpose


class Command(BaseCommand):
    help = (
        "Give a programme x phase x purpose a new data key. New data uses it at once; run "
        "reencrypt_fields afterwards to move existing ciphertexts and blind indexes onto it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--programme", type=int, required=True, help="The programme's id.")
        parser.add_argument("--phase", required=True, help='"trust" for the Trust\'s records, or scoping/delivery.')
        parser.add_argument("--purpose", required=True, choices=[p.value for p in Purpose])

    def handle(self, *args, **opts):
        scope = keys.KeyScope(opts["programme"], opts["phase"], Purpose(opts["purpose"]))
        try:
            version = keys.rotate(scope)
        except PseudonymisationError as exc:
            raise CommandError(str(exc)) from exc
        record_event(Event.CHANGE, actor=None, reason=f"data key {scope.label()} rotated to version {version}", action=1)
        self.stdout.write(f"{scope.label()}: new data key version {version}.")
        if scope.purpose != Purpose.TOKEN:
            self.stdout.write("Now run: manage.py reencrypt_fields")
