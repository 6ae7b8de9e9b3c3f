"""Changing a person's role in a programme: the old role revoked and the new one granted, in one
transaction with one entry saying what changed (issue 24, point 1).

A change is exactly the two actions it is made of, so every rule of each still holds:
- the old role ends as `actions.revoke_role` ends any role, at once: every session of the person
  ends and their caseload in the programme ends (ADR 21);
- the new one is granted by `actions.request_role`: a lead, DPO or Caldicott Guardian role waits
  for a second person's confirmation (ADR 5), so until then they hold no active role in that
  programme; nobody changes their own role.
If either refuses, or an audit entry cannot be written, nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.tenancy.models import Membership, MembershipStatus, Person
from pause_portal.tenancy.roles import Role
from sharing import actions


@dataclass(frozen=True)
class RoleChange:
    revocation: actions.Revocation
    granted: Membership

    @property
    def waits_for_confirmation(self) -> bool:
        return self.granted.status == MembershipStatus.PENDING


def change_role(*, membership: Membership, role: Role | str, by: Person, portal_url: str = "") -> RoleChange:
    """Move the person of `membership` to `role` in the same programme, as one step (a practitioner's
    caseload is handed over to the Pause lead as on any revocation; `portal_url`: the address of the
    lead's list, for the email)."""
    role = Role(role)
    with transaction.atomic():
        old = Membership.objects.select_for_update().select_related("person", "programme").get(pk=membership.pk)
        if old.status == MembershipStatus.REVOKED:
            raise ValidationError("This role has already ended: grant them a role instead.")
        if old.role == role:
            raise ValidationError(f"They already hold the role {role.label} in {old.programme.name}.")
        revocation = actions.revoke_role(membership=old, by=by, portal_url=portal_url)
        granted = actions.request_role(person=old.person, programme=old.programme, role=role, by=by)
        record_event(
            Event.CHANGE, actor=by, target=granted, programme=old.programme, role=role, action=1,
            reason=f"role changed from {Role(old.role).label} (membership #{old.pk}) to {role.label} "
                   f"(membership #{granted.pk}, {granted.get_status_display().lower()})",
        )
    return RoleChange(revocation, granted)
