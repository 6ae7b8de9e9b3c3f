"""Verify the audit trail's hash chain and its checkpoints; exit 1 at the first broken link, when
the checkpoint store is empty beside a chain, or when a checkpoint is past the chain's end.

    manage.py verify_audit_trail
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from audit.core.sealing import verify
from audit.core.verification_record import record_verification


class Command(BaseCommand):
    help = "Check the audit trail's hash chain and checkpoints; non-zero exit when broken. Each run is recorded in the trail."

    def handle(self, *args, **opts):
        start = time.perf_counter()
        result = verify()
        seconds = time.perf_counter() - start
        record_verification(result)  # the promises page's evidence that the trail is checked (ADR 46)
        rate = f" ({result.links / seconds:,.0f} links/s)" if seconds and result.links else ""
        self.stdout.write(f"Checked links {result.first_seq}-{result.last_seq} ({result.links} links) against "
                          f"{result.checkpoints} checkpoints (each day's newest compared: {result.compared}) in "
                          f"{seconds:.1f}s{rate}; {result.unsealed} entries not yet sealed.")
        if not result.ok:
            raise CommandError("The audit trail does not verify: " + "; ".join(result.problems))
        self.stdout.write("The audit trail verifies.")
