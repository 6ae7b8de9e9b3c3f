"""Seal the committed audit entries not yet in the hash chain (the beat task does this every
minute); with --checkpoint, also write the chain head to the checkpoint store.

    manage.py seal_audit_trail [--checkpoint]
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from audit.sealing import seal_pending, write_checkpoint


class Command(BaseCommand):
    help = "Seal pending audit entries into the hash chain (and optionally checkpoint its head)."

    def add_arguments(self, parser):
        parser.add_argument("--checkpoint", action="store_true", help="Also write the chain head outside the database.")

    def handle(self, *args, **opts):
        sealed = seal_pending()
        self.stdout.write(f"Sealed {sealed} entries.")
        if opts["checkpoint"]:
            head = write_checkpoint()
            self.stdout.write(f"Checkpoint at link {head['seq']}." if head else "Nothing sealed yet: no checkpoint.")
