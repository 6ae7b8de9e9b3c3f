from django.core.management.base import BaseCommand, CommandError

from audit.core.log import record_event
from audit.core.models import Event
from pseudonymisation import custody
from sharing.scoping_purge import finish_pending_key_destruction


class Command(BaseCommand):
    help = (
        "Rewrite the data-key table (VACUUM FULL on PostgreSQL, VACUUM on SQLite) so the dead row versions "
        "that still hold destroyed keys' wrapped bytes leave its file, then complete the deletion "
        "certificates that said it was not done. On PostgreSQL run it as the table's owner: "
        "docker-compose run --rm migrate python manage.py vacuum_key_table"
    )

    def handle(self, *args, **opts):
        outcome = custody.vacuum_key_table()
        finished = finish_pending_key_destruction(outcome=outcome) if outcome.done else []
        record_event(Event.CHANGE, actor=None, action=1, reason=(
            f"key table vacuumed ({outcome.how}); certificates completed: {len(finished)}" if outcome.done
            else f"key table not vacuumed: {outcome.why_not}"))
        if not outcome.done:
            raise CommandError(f"Not vacuumed: {outcome.why_not}.")
        self.stdout.write(f"Vacuumed ({outcome.how}). Deletion certificates completed: {len(finished)}.")
