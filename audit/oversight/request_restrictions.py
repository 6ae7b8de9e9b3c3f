"""The restriction a rights request holds: opened for the request and linked to it.

Three rights actions restrict her records for a request — a restriction request's restriction
(`audit.oversight.rights.open_request_restriction`), an objection's while it is considered
(`audit.oversight.rights.open_request`) and an upheld objection's, if none is open when the Caldicott
Guardian confirms it (`audit.oversight.objections.carry_out_upheld`). They share this one step, in a
module of its own so that neither of those two modules imports the other for it. The restriction
itself is opened by `eligibility.restrictions.open_restriction` (nothing about her can be released,
she leaves the scoping snapshot and every Pause view at once); while the request holds it, it ends
only with the request's outcome (`eligibility.restrictions.end_restriction`).
"""

from __future__ import annotations

from audit.core.models_rights import RightsRequest
from eligibility.models import Restriction, RestrictionReason
from eligibility.restrictions import open_restriction
from pause_portal.tenancy.models import Person


def restrict_for_request(request: RightsRequest, *, reason: RestrictionReason, by: Person) -> Restriction:
    """Open a restriction of her records and make it the request's (inside the caller's transaction,
    on the request the caller has checked, and locked where it is an existing one)."""
    restriction = open_restriction(woman=request.woman, reason=reason, by=by)
    request.restriction = restriction
    request.save(update_fields=["restriction"])
    return restriction
