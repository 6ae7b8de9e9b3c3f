"""The scoping term: when scoping ends. Three calendar months from its start at most, longer only
by the extension recorded in the current (confirmed) data-sharing agreement. The disclosure policy
asks `scoping_is_open` on every request, so scoping data stops being served at the deadline whether
or not any worker runs. Its own module so that phase changes (`sharing.phases`) and the purge they
start (`sharing.scoping_purge`, which reads the deadline) import each other in one direction only.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from django.utils import timezone

from pause_portal.tenancy.models import Phase, Programme
from sharing.models_scoping import Agreement, ChangeStatus, DeletionCertificate

SCOPING_MONTHS = 3


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later; a day the month lacks becomes its
    last day (30 November + 3 months = 28 or 29 February)."""
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def current_agreement(programme: Programme) -> Agreement | None:
    """The latest confirmed version of the programme's data-sharing agreement, if any."""
    return (Agreement.objects.filter(programme=programme, status=ChangeStatus.CONFIRMED)
            .order_by("-version").first())


def scoping_deadline(programme: Programme) -> datetime | None:
    """When scoping ends: its start + 3 months + the agreement's recorded extension. None outside
    scoping."""
    if programme.phase != Phase.SCOPING:
        return None
    agreement = current_agreement(programme)
    extension = agreement.scoping_extension_days if agreement else 0
    return add_months(programme.phase_started_at, SCOPING_MONTHS) + timedelta(days=extension)


def scoping_is_open(programme: Programme, at: datetime | None = None) -> bool:
    """True while scoping data may be served: in scoping, before the deadline, not yet purged."""
    deadline = scoping_deadline(programme)
    if deadline is None or (at or timezone.now()) >= deadline:
        return False
    return not DeletionCertificate.objects.filter(programme=programme).exists()
