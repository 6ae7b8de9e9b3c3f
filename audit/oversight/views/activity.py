"""The Caldicott Guardian's report of the DPO's own activity: every rights request a DPO opened,
every view of records under a request, every access pack downloaded, every erasure and objection
decision (`audit.oversight.dpo_activity`), and every search, report and export of the audit trail made in
the programme — when, by whom, of what kind, and the reason given. Never whom it was about."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_safe

from audit.core.models_review import FlagRule, MonitoringFlag, ReviewSearch
from audit.oversight.dpo_activity import people_of, rights_activity
from audit.oversight.views.review import describe_criteria
from eligibility.disclosure import record_staff_view
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership

PER_PAGE = 50


@for_perm(Perm.REVIEW_DPO_ACTIVITY)
@require_safe
def dpo_activity(request):
    membership = current_membership(request)
    rows = ReviewSearch.objects.filter(programme=membership.programme).select_related("by", "rights_request")
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    items = [(s, describe_criteria(s)) for s in page]
    rights_page = Paginator(rights_activity(membership.programme_id), PER_PAGE).get_page(
        request.GET.get("rights_page"))
    people = people_of(list(rights_page))
    rights_items = [(a, people.get(a.by_id)) for a in rights_page]
    # The flags the rules raise about the DPO's own requests: shown here too, since the DPO does not
    # close a flag about themselves.
    flags = list(MonitoringFlag.objects.filter(programme=membership.programme,
                                               rule__in=[FlagRule.NO_RECEIPT, FlagRule.RAPID_REQUESTS])
                 .select_related("actor")[:PER_PAGE])
    record_staff_view(request, {**{s.by_id: s.by for s in page}, **people,
                                **{f.actor_id: f.actor for f in flags if f.actor_id}}.values(), membership=membership)
    return render(request, "dpo/activity.html", {"page": page, "items": items, "programme": membership.programme,
                                                 "rights_page": rights_page, "rights_items": rights_items,
                                                 "flags": flags})
