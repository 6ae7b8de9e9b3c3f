"""The scoping term: when scoping ends. Three calendar months from its start at most (or fewer, as
the Trust's privacy notice in force says), longer only by the extension recorded in the current
(confirmed) data-sharing agreement, and never longer than the notice in force tells women
(`scoping_extension_days` of the Trust's notice; with no notice in force: 3 months, no extension). The disclosure policy
asks `scoping_is_open` on every request, so scoping data stops being served at the deadline whether
or not any worker runs. Its own module so that phase changes (`sharing.phases`) and the purge they
start (`sharing.scoping_purge`, which reads the deadline) import each other in one direction only.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from django.utils import timezone

from pause_portal.tenancy.models import Phase, Programme
from sharing.models_notices import Controller, PrivacyNotice
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


def current_trust_notice(programme: Programme) -> PrivacyNotice | None:
    """The Trust's privacy notice version in force (the latest confirmed), if any."""
    return (PrivacyNotice.objects.filter(programme=programme, controller=Controller.TRUST,
                                         status=ChangeStatus.CONFIRMED).order_by("-version").first())


def notice_term(programme: Programme) -> tuple[int, int]:
    """(months, the longest extension in days) the Trust's notice in force allows: 3 and 0 with none."""
    notice = current_trust_notice(programme)
    return (notice.scoping_months, notice.scoping_extension_days) if notice else (SCOPING_MONTHS, 0)


def scoping_deadline(programme: Programme) -> datetime | None:
    """When scoping ends: its start + the notice's months (3 at most) + the agreement's recorded
    extension, cut to what the notice in force announces. None outside scoping."""
    if programme.phase != Phase.SCOPING:
        return None
    months, most = notice_term(programme)
    agreement = current_agreement(programme)
    extension = min(agreement.scoping_extension_days if agreement else 0, most)
    return add_months(programme.phase_started_at, min(months, SCOPING_MONTHS)) + timedelta(days=extension)


def scoping_is_open(programme: Programme, at: datetime | None = None) -> bool:
    """True while scoping data may be served: in scoping, before the deadline, not yet purged."""
    deadline = scoping_deadline(programme)
    if deadline is None or (at or timezone.now()) >= deadline:
        return False
    return not DeletionCertificate.objects.filter(programme=programme).exists()
