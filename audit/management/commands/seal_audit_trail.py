"""Seal every committed audit entry not yet in the hash chain, whatever its date, checkpointing
each batch (the beat's minute run seals those that can still follow the head; its hourly run
sweeps like this: ADR 55), after turning the past minutes' tallies of refusals without sign-in
into entries; with --checkpoint, also write the chain head to the checkpoint store when its
newest checkpoint is not at it — which is also how an operator starts an emptied or new store
again (the sealer never does that on its own: ADR 14).

    manage.py seal_audit_trail [--checkpoint]
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from audit.core.refusals import flush_refusal_tallies
from audit.core.sealing import checkpoint_store, seal_pending, write_checkpoint


class Command(BaseCommand):
    help = "Seal pending audit entries into the hash chain (and optionally checkpoint its head)."

    def add_arguments(self, parser):
        parser.add_argument("--checkpoint", action="store_true",
                            help="Also write the chain head outside the database (and start an empty store again).")

    def handle(self, *args, **opts):
        tallied = flush_refusal_tallies()
        if tallied:
            self.stdout.write(f"Wrote {tallied} entries for refusals past the per-address limit.")
        sealed = seal_pending(sweep=True)  # the whole trail, as the hourly catch-up (ADR 55)
        self.stdout.write(f"Sealed {sealed} entries.")
        if opts["checkpoint"]:
            was_empty = checkpoint_store().latest() is None
            head = write_checkpoint(start_empty_store=True)
            if head is None:
                self.stdout.write("Nothing sealed yet: no checkpoint.")
                return
            self.stdout.write(f"Checkpoint at link {head['seq']}.")
            if was_empty:  # (a first seal has checkpointed itself by now)
                self.stderr.write(
                    f"The checkpoint store was empty although the chain already had links: it starts again at link "
                    f"{head['seq']}. Entries cut from the end before now cannot be found any more; "
                    "verify_audit_trail compares the chain with this checkpoint and those after it.")
