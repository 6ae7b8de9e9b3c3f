"""The tally of requests refused without sign-in, per client address and minute (issue 17,
finding 8; `audit.core.refusals`).

A working table, not part of the trail: rows are counted up while their minute lasts and turned
into audit entries, then deleted, once it is over. It is updatable by the application role like
the portal's other working tables.
"""

from __future__ import annotations

from django.db import models

from pause_portal.classification import DataClass as D


class RefusalTally(models.Model):
    """How many requests from one address were refused without sign-in in one minute, and how
    many of them have an entry of their own; the rest become one entry with their number."""

    address = models.GenericIPAddressField()  # as pause_portal.client_ip found it
    minute = models.BigIntegerField()  # whole minutes since 1970-01-01 00:00 UTC
    count = models.PositiveIntegerField(default=0)
    logged = models.PositiveIntegerField(default=0)  # of `count`, those written as entries one by one

    # The address is what every refusal entry carries already (AuditEntry.remote_addr).
    data_classification = {"id": D.SAFE, "address": D.SAFE, "minute": D.SAFE, "count": D.SAFE, "logged": D.SAFE}

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["address", "minute"], name="refusal_tally_address_minute"),
            models.CheckConstraint(condition=models.Q(logged__lte=models.F("count")), name="refusal_tally_logged_le_count"),
        ]

    def __str__(self) -> str:
        return f"refusal tally #{self.pk}"
