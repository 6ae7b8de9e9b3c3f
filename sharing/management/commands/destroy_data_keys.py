from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.core.log import record_event
from audit.core.models import Event
from pseudonymisation import custody, keys
from pseudonymisation.models import Purpose


class Command(BaseCommand):
    help = (
        "Destroy every version of a scope's data key (for example the scoping token key when scoping "
        "ends). Irreversible. Once the destruction commits, the scope's secret is deleted from the key "
        "store, so the wrapped copies left in dead rows, WAL and the database's backups no longer unwrap; "
        "then the key table is vacuumed (VACUUM FULL: needs the table's owner)."
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
        after_commit = {}

        def finish():  # after the commit: never inside the transaction (ADR 22)
            after_commit["deleted_at"] = keys.forget_scope_secret(scope)
            after_commit["vacuum"] = custody.vacuum_key_table()

        with transaction.atomic():
            count = keys.destroy(scope)
            record_event(Event.CHANGE, actor=None, reason=f"{count} version(s) of data key {scope.label()} destroyed", action=2)
            if count:
                transaction.on_commit(finish)
        self.stdout.write(f"{scope.label()}: {count} key version(s) destroyed.")
        if not count:
            return
        if not after_commit:  # called inside someone else's transaction: nothing has committed yet
            self.stdout.write("The key store's secret is deleted, and the key table vacuumed, once the enclosing "
                              "transaction commits.")
            return
        deleted_at, vacuum = after_commit["deleted_at"], after_commit["vacuum"]
        secret = (f"its secret deleted from the key store at {deleted_at.isoformat()}" if deleted_at
                  else "no secret was in the key store (keys made before per-scope secrets)")
        dead_rows = f"key table vacuumed ({vacuum.how})" if vacuum.done else f"key table not vacuumed: {vacuum.why_not}"
        record_event(Event.CHANGE, actor=None, action=2, reason=f"data key {scope.label()}: {secret}; {dead_rows}")
        self.stdout.write(f"{scope.label()}: {secret}.")
        self.stdout.write(f"{dead_rows}.")
        self.stdout.write(
            f"Wrapped copies may remain in the database's WAL and backups (kept {settings.PORTAL_DATABASE_BACKUP_DAYS} "
            f"days); the key store's backups (kept {settings.PORTAL_KEY_STORE_BACKUP_DAYS} days) may hold the secret "
            "until they expire.")
