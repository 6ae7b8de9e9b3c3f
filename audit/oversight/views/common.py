"""What the DPO's pages share: the programme's people and organisations, and entries turned
into table rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from audit.core.models import AuditEntry
from audit.core.models_review import MonitoringFlag
from audit.oversight import review
from audit.oversight.monitoring import LONDON
from audit.oversight.person_subjects import describe_reference
from pause_portal.tenancy.models import Membership, Organisation, Person
from pause_portal.tenancy.roles import Role


def members_of(programme) -> list[Person]:
    """Everyone who holds or held a role in the programme, by name."""
    ids = Membership.objects.filter(programme=programme).values("person_id")
    return list(Person.objects.filter(pk__in=ids).order_by("full_name", "pk"))


def organisations_of(programme) -> list[Organisation]:
    return [programme.trust, programme.pause_practice]


@dataclass
class EntryRow:
    entry: AuditEntry
    local_time: datetime
    action: str
    actor_name: str
    role: str
    organisation: str
    programme: str
    named: list[str] = field(default_factory=list)
    flags: list[MonitoringFlag] = field(default_factory=list)


def entry_rows(entries: list[AuditEntry], references: list[str] | None = None) -> list[EntryRow]:
    """Rows for a table or a CSV; with `references` (a person search), which of hers each named."""
    matched = review.matched_subjects(entries, references) if references else {}
    flags = review.flags_by_entry(entries)
    roles = dict(Role.choices)
    return [
        EntryRow(
            entry=e, local_time=e.timestamp.astimezone(LONDON), action=review.Action.LABELS[review.action_of(e)],
            actor_name=e.actor.full_name if e.actor_id else "Nobody signed in",
            role=roles.get(e.role, e.role), organisation=e.organisation.name if e.organisation_id else "",
            programme=e.programme.name if e.programme_id else "",
            named=[describe_reference(r) for r in matched.get(e.pk, [])], flags=flags.get(e.pk, []),
        )
        for e in entries
    ]
