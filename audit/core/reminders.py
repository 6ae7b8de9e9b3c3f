"""Reminders (issue 23, points 2, 4 and 6; ADR 47): an email with no identifier, sent exactly once
for each thing at each stage, that also appears on its recipients' dashboards until the thing no
longer waits.

A *provider* (in the layer that knows the thing: a DPIA review date, a breach's 72 hours, a rights
request's due date, an unacknowledged concern, a waiting confirmation) is a function of the time
that returns one `Due` for every thing that waits now: with the stage whose reminder is due, or
with `stage=""` when it still waits but no reminder is due yet. The providers are listed in
`audit.oversight.reminder_providers` (the top layer, which may import them all) and run by the
`audit.send_reminders` task every quarter of an hour; this module does the rest:

- a `Reminder` row per (kind, item, stage), unique in the database: a second sweep, a second
  worker or a retry sends nothing twice;
- the email, inside the row's transaction: if it cannot be sent the row is rolled back and the
  next sweep tries again, so none is lost either;
- an audit entry for each reminder sent (who it went to, by reference);
- clearing: a reminder of a thing the provider no longer reports is cleared, and leaves the
  dashboards.

Emails and headlines must carry no identifier: no name, no reference of a woman or a request, no
number that picks one out. `Due` refuses text with a digit run of four or more that is not a date
or an hour (a reference such as "R-2026-0012" or "person 1234"), as a last net under the providers'
own tests.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from audit.core.models_reminders import Reminder, ReminderRecipient
from pause_portal.tenancy.models import Person, Programme

logger = logging.getLogger(__name__)

# A run of digits that could be a reference or an id, once dates ("7 December 2026", "2026-12-07")
# and times ("14:30") are taken out.
_DATES = re.compile(r"\b(\d{1,2} )?(January|February|March|April|May|June|July|August|September|October|"
                    r"November|December) \d{4}\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}\b")
_REFERENCE = re.compile(r"\d{4,}|\b\w*[A-Za-z]\w*-\d+|#\s?\d+|\b(?=\w*\d)(?=\w*_)\w+")


class IdentifierInReminder(ValueError):
    """A provider wrote something that looks like a reference into a reminder: a programming error."""


def looks_identifying(text: str) -> str | None:
    """The first piece of `text` that looks like a reference or an id, or None."""
    match = _REFERENCE.search(_DATES.sub("", text))
    return match.group(0) if match else None


@dataclass(frozen=True)
class Due:
    """One thing that waits now. `item` is stable and names no one ("audit.breach:12"); `stage`
    names the reminder due now ("24h", "7d"), or is "" when the thing waits but no reminder is due.
    `subject`, `body` and `headline` are what the email and the dashboard say: no identifier."""

    item: str
    stage: str = ""
    programme_id: int | None = None
    recipients: tuple[int, ...] = ()
    # Addresses outside the portal's people, such as Pause's DPO named in the agreement (ADR 49):
    # emailed too, never shown on a dashboard.
    addresses: tuple[str, ...] = ()
    subject: str = ""
    body: str = ""
    headline: str = ""
    link: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.stage:
            return
        # The programme's own name may be anything its owners chose ("Leeds 2027"): it is not an
        # identifier of anyone, so it is taken out before the check.
        name_of_programme = (Programme.objects.filter(pk=self.programme_id).values_list("name", flat=True).first()
                             if self.programme_id else None) or ""
        for name in ("subject", "body", "headline"):
            text = getattr(self, name)
            found = looks_identifying(text.replace(name_of_programme, " ") if name_of_programme else text)
            if found:
                raise IdentifierInReminder(f"The {name} of the reminder {self.item} ({self.stage}) contains "
                                           f"{found!r}, which looks like a reference: reminders carry no identifier.")
        if not (self.subject and self.body and self.headline):
            raise ValueError(f"The reminder {self.item} ({self.stage}) needs a subject, a body and a headline.")


Provider = Callable[[datetime], Iterable[Due]]


def _addresses(person_ids: Iterable[int]) -> list[Person]:
    return list(Person.objects.filter(pk__in=set(person_ids), is_active=True).order_by("pk"))


def _send_one(kind: str, due: Due, now: datetime) -> Reminder | None:
    """Write the row and send the email together; None if it was already sent."""
    people = _addresses(due.recipients)
    with transaction.atomic():
        try:
            with transaction.atomic():
                reminder = Reminder.objects.create(
                    kind=kind, item=due.item, stage=due.stage, programme_id=due.programme_id,
                    headline=due.headline[:200], link=due.link[:200], subject=due.subject[:200], sent_at=now)
        except IntegrityError:
            return None  # sent before, by this sweep's predecessor or another worker
        ReminderRecipient.objects.bulk_create([ReminderRecipient(reminder=reminder, person=p) for p in people])
        to = [p.email for p in people] + [a for a in dict.fromkeys(due.addresses) if a]
        if to:
            send_mass_mail([(due.subject, due.body, settings.DEFAULT_FROM_EMAIL, [address]) for address in to],
                           fail_silently=False)
        else:
            # Nobody to tell is itself a risk: recorded, and logged for the service's monitoring.
            logger.warning("reminder %s %s (%s): nobody to send it to", kind, due.item, due.stage)
        record_event(Event.CHANGE, actor=None, target=reminder, programme=reminder.programme, action=0,
                     subjects=people,
                     reason=f"reminder sent ({kind}, {due.stage}) to {len(people)} "
                            f"{'person' if len(people) == 1 else 'people'}"
                            + (f" and {len(to) - len(people)} other address{'es' if len(to) - len(people) != 1 else ''}"
                               if len(to) > len(people) else ""))
    return reminder


def send_due(kind: str, dues: Iterable[Due], *, now: datetime | None = None) -> list[Reminder]:
    """Send every reminder of `dues` not sent before, and clear the reminders of this kind whose
    thing no longer waits. Returns the reminders sent now."""
    now = now or timezone.now()
    dues = list(dues)
    sent, failures = [], []
    for due in dues:
        if not due.stage:
            continue
        try:
            reminder = _send_one(kind, due, now)
        except Exception as error:  # noqa: BLE001 - one thing's failure must not hold back the others
            logger.exception("reminder %s %s (%s) not sent", kind, due.item, due.stage)
            failures.append(error)
            continue
        if reminder is not None:
            sent.append(reminder)
    waiting = {d.item for d in dues}
    Reminder.objects.filter(kind=kind, cleared_at__isnull=True).exclude(item__in=waiting).update(cleared_at=now)
    if failures:
        raise failures[0]
    return sent


def run(providers: dict[str, Provider], *, now: datetime | None = None) -> dict[str, int]:
    """Run every provider; a provider that fails does not stop the others (each is logged, and the
    first failure is raised at the end so the task shows it). Returns how many each sent."""
    now = now or timezone.now()
    counts, failures = {}, []
    for kind, provider in providers.items():
        try:
            counts[kind] = len(send_due(kind, provider(now), now=now))
        except Exception as error:  # noqa: BLE001 - one provider's failure must not silence the others
            logger.exception("reminders of kind %s failed", kind)
            failures.append(error)
    if failures:
        raise failures[0]
    return counts


def shown_to(person: Person, *, programme_id: int | None = None, limit: int = 20) -> list[Reminder]:
    """The reminders sent to `person` that still wait, the latest stage of each thing, newest
    first: of one programme (and the deployment-wide ones) when `programme_id` is given."""
    rows = Reminder.objects.filter(cleared_at__isnull=True, recipients__person=person)
    if programme_id is not None:
        rows = rows.filter(programme_id__in=[programme_id]) | rows.filter(programme__isnull=True)
    latest: dict[tuple[str, str], Reminder] = {}
    for reminder in rows.order_by("-sent_at", "-pk").distinct():
        latest.setdefault((reminder.kind, reminder.item), reminder)
    return list(latest.values())[:limit]
