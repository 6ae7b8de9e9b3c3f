"""What Pause may see in each phase: sharing's rules for the disclosure policy.

The policy itself — `disclose()`, the Trust's roles, the DPO's gate, the entry — is
`eligibility.disclosure`. For every disclosure it asks the kernel's `pause_disclosure` hook
(ADR 24), which sharing answers here (`pause_disclosure`, registered by SharingConfig) with a
`PauseDisclosure`: which of the records Pause's roles may see now, with which fields.

- Pause lead in scoping (issue 6): while `scoping_is_open`, the scoping snapshot's rows that are
  not withheld (`ScopingWomanRow`, and `ScopingChildRow` of served women) with the fields of the
  agreement's scoping items only (a row's column only once the check has run with it: ADR 28),
  and the programme's scoping notes —
  nothing else, never `eligibility.Woman`/`Child`. After the deadline nothing, with no worker
  needed: the check runs on every call. A child's year band is served at the level the women's
  removal years are served at (set on the returned instance, never saved). Nobody else sees
  scoping rows (the Trust lead sees the release's counts instead).
- Pause lead and practitioner in delivery (issue 7): released women (`ReleasedWoman`, a live
  reference to the Trust's record) and what hangs off them (`ReleasedChild`, `ContactAttempt`,
  `SafeguardingConcern`) for women `sharing.delivery_access` puts in their view now — every one
  in view for the lead, their own caseload for a practitioner, nothing once the programme closes.
  Served: the fields of the delivery items of the confirmed agreement in force now (of: her name,
  date of birth, postcode — read live from the Trust's record —, the address the Trust gave, her
  Trust contact; her removed children only (never one who was not removed) as delivery tokens,
  year of birth, removal year and outcome), and what `sharing.data_items.ALWAYS_SERVED` names.
  Never her NHS number or Trust id.

Which fields: `sharing.data_items` (ADR 28), read from the agreement once per disclosure, so a
confirmed change takes effect on the next request.
"""

from __future__ import annotations

from django.db import models

from pause_portal.tenancy.models import Membership, Phase
from pause_portal.tenancy.roles import Role
from sharing.data_items import ALWAYS_SERVED, served_now
from sharing.delivery_access import PAUSE_DELIVERY_ROLES, concern_stays_in_view, visible_ids
from sharing.delivery_release import removed_released_children
from sharing.models_delivery import ReleasedChild, ReleasedWoman, SafeguardingConcern
from sharing.models_scoping import ScopingChildRow, ScopingWomanRow
from sharing.scoping_release import (
    checked_columns,
    serve_child_year_bands,
    served_columns,
)
from sharing.scoping_term import scoping_is_open

# The models each phase's rules govern. Which of their fields are served is the agreement's to say:
# `sharing.data_items` maps each agreed item to its fields (ADR 28), read on every disclosure.
SCOPING_MODELS = frozenset(ALWAYS_SERVED[Phase.SCOPING])
DELIVERY_MODELS = frozenset(ALWAYS_SERVED[Phase.DELIVERY])
# A released woman's name, date of birth and postcode are read live from the Trust's record.
LIVE_FROM_TRUST_RECORD = frozenset({"forename", "surname", "date_of_birth", "postcode"})


def scoping_fields(programme_id: int) -> dict[type[models.Model], frozenset[str]]:
    """What Pause's lead is served of the scoping snapshot now: the fields of the confirmed
    agreement's scoping items; a woman's row's columns only if the snapshot's latest check ran
    over them too (an item newly agreed is served only once the check has re-run with it)."""
    fields = dict(served_now(programme_id, Phase.SCOPING))
    checked = checked_columns(programme_id)
    columns = set(served_columns())
    fields[ScopingWomanRow] = frozenset(f for f in fields[ScopingWomanRow] if f not in columns or f in checked)
    return fields


def delivery_fields(programme_id: int) -> dict[type[models.Model], frozenset[str]]:
    """What Pause's roles are served in delivery now: the fields of the confirmed agreement's
    delivery items, and what is always served."""
    return served_now(programme_id, Phase.DELIVERY)


def released_woman_id(record: models.Model) -> int:
    return record.pk if isinstance(record, ReleasedWoman) else record.released_woman_id


def delivery_visible(user, records: list, memberships: dict[int, Membership]) -> set[int]:
    """The ids of released women (among those the records hang off) Pause may see now: one
    query per programme."""
    wanted: dict[int, set[int]] = {}
    for r in records:
        membership = memberships.get(r.programme_id)
        if type(r) in DELIVERY_MODELS and membership is not None and Role(membership.role) in PAUSE_DELIVERY_ROLES:
            wanted.setdefault(r.programme_id, set()).add(released_woman_id(r))
    seen: set[int] = set()
    for programme_id, ids in wanted.items():
        seen |= visible_ids(user, memberships[programme_id], ids)
    return seen


def concerns_kept(user, records: list, memberships: dict[int, Membership]) -> set[int]:
    """The ids of concerns among `records` that stay in this Pause person's view although the woman
    they are about has left it (open, raised by them or, for the Pause lead, by anyone: ADR 29)."""
    wanted: dict[int, set[int]] = {}
    for r in records:
        membership = memberships.get(r.programme_id)
        if isinstance(r, SafeguardingConcern) and membership is not None and Role(membership.role) in PAUSE_DELIVERY_ROLES:
            wanted.setdefault(r.programme_id, set()).add(r.pk)
    kept: set[int] = set()
    for programme_id, ids in wanted.items():
        kept |= set(SafeguardingConcern.objects.filter(concern_stays_in_view(user, memberships[programme_id]),
                                                       pk__in=ids).values_list("pk", flat=True))
    return kept


class PauseDisclosure:
    """Sharing's phase rules for one disclosure: built once per call, with the delivery view
    worked out in one query per programme and scoping's open/closed state cached per programme."""

    def __init__(self, user, records: list, memberships: dict[int, Membership]):
        self._delivery_seen = delivery_visible(user, records, memberships)
        self._concerns_kept = concerns_kept(user, records, memberships)
        # Only removed children are served in delivery (issue 21, point 3), even if released before.
        self._removed_children = removed_released_children(
            [r for r in records if isinstance(r, ReleasedChild) and released_woman_id(r) in self._delivery_seen])
        self._scoping_open: dict[int, bool] = {}
        self._fields: dict[tuple[int, str], dict[type[models.Model], frozenset[str]]] = {}  # this call only

    def allows(self, record: models.Model, membership: Membership | None) -> bool | None:
        """True or False for a record these rules govern; None for one they do not (the policy's
        Trust rules decide)."""
        if type(record) in SCOPING_MODELS:
            return membership is not None and self._open(record.programme_id, membership) and _served(record)
        if type(record) in DELIVERY_MODELS and membership is not None and Role(membership.role) in PAUSE_DELIVERY_ROLES:
            if isinstance(record, ReleasedChild):
                return record.pk in self._removed_children
            return (released_woman_id(record) in self._delivery_seen
                    or (isinstance(record, SafeguardingConcern) and record.pk in self._concerns_kept))
        return None

    def fields(self, model: type[models.Model], membership: Membership) -> frozenset[str] | None:
        """The fields of the agreement's items in force now for the model's phase (read once per
        disclosure, so a newly confirmed version takes effect on the next request)."""
        if model in SCOPING_MODELS:
            return self._agreed(membership.programme_id, Phase.SCOPING)[model]
        if model in DELIVERY_MODELS and Role(membership.role) in PAUSE_DELIVERY_ROLES:
            return self._agreed(membership.programme_id, Phase.DELIVERY)[model]
        return None

    def _agreed(self, programme_id: int, phase: str) -> dict[type[models.Model], frozenset[str]]:
        if (programme_id, phase) not in self._fields:
            read = scoping_fields if phase == Phase.SCOPING else delivery_fields
            self._fields[programme_id, phase] = read(programme_id)
        return self._fields[programme_id, phase]

    def woman_of(self, record: models.Model) -> int | None:
        if getattr(record, "released_woman_id", None) is not None:
            return ReleasedWoman.objects.filter(pk=record.released_woman_id).values_list("woman_id", flat=True).first()
        return None

    @staticmethod
    def holder(record: models.Model, name: str) -> models.Model | None:
        """The record a served field is read from: a released woman's name, date of birth and
        postcode are read live from the Trust's record of her (the release holds a reference, not a
        copy); everything else from the record itself (None)."""
        if isinstance(record, ReleasedWoman) and name in LIVE_FROM_TRUST_RECORD:
            return record.woman
        return None

    def prepare(self, shown: list) -> None:
        serve_child_year_bands(shown)

    @staticmethod
    def people_behind(subjects: list) -> list[str]:
        """The Trust's references of the women that scoping rows were made from: the rows are purged
        (with their key) when scoping ends, and the entry must still say whose data was seen. The
        references never leave the audit trail (only the DPO reads it)."""
        return [f"eligibility.woman:{r.woman_id}" for r in subjects if isinstance(r, ScopingWomanRow)]

    def _open(self, programme_id: int, membership: Membership) -> bool:
        if programme_id not in self._scoping_open:
            self._scoping_open[programme_id] = (Role(membership.role) == Role.PAUSE_LEAD
                                                and scoping_is_open(membership.programme))
        return self._scoping_open[programme_id]


def _served(record: models.Model) -> bool:
    if isinstance(record, ScopingWomanRow):
        return not record.withheld
    if isinstance(record, ScopingChildRow):
        return not record.mother_row.withheld
    return True


def pause_disclosure(*, by, records: list, memberships: dict[int, Membership]) -> PauseDisclosure:
    """The handler of the kernel's `pause_disclosure` hook (registered by SharingConfig)."""
    return PauseDisclosure(by, records, memberships)
