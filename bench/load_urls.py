"""The benchmark's URLconf (bench/load_settings.py only): every product URL, plus the baseline of
the practitioner's caseload page — the same queries and template, with the disclosure policy's
checks but without its audit write. The baseline lives here, outside the product, so no product
setting or URL can read casework without writing the audit entry."""

from django.shortcuts import render
from django.urls import include, path

from eligibility.disclosure import Served, _Reader, memberships_by_programme
from pause_portal.access import for_perm
from pause_portal.tenancy.models import Phase
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership
from sharing.delivery_access import stop_contact_count
from sharing.disclosure import PauseDisclosure
from sharing.forms_lists import NameSearchForm, WomenFilterForm
from sharing.views.delivery_pause import _list_context
from sharing.views.delivery_rows import as_shown, in_view


def _served_without_audit(user, records: list) -> list:
    """What `disclose()` would serve (the same reads: memberships, the visibility predicate, the
    same served values read the same way), but with no audit entry written."""
    memberships = memberships_by_programme(user, {r.programme_id for r in records})
    phase = PauseDisclosure(user, records, memberships)  # works out the view once, as disclose() does
    seen, read = phase._delivery_seen, _Reader(phase)
    return [(r, Served(r, phase.fields(type(r), memberships[r.programme_id]), read)) for r in records if r.pk in seen]


@for_perm(Perm.VIEW_OWN_CASELOAD)
def caseload_baseline(request):
    """The caseload view's own context (its filter and search forms, the stop-contact count) and
    template, unfiltered, with the served values read as `disclose()` reads them but not logged."""
    programme = current_membership(request).programme
    records = _served_without_audit(request.user, list(in_view(request)))
    women = as_shown(records)
    filter_form, search_form = WomenFilterForm(None), NameSearchForm(None)
    return render(request, "delivery/caseload.html", {
        "programme": programme, "in_delivery": programme.phase == Phase.DELIVERY,
        **_list_context(request, filter_form, search_form, len(women)), "women": women, "any_women": bool(women),
        "to_contact": sum(w.prompt_contact for w in women),
        "stop_contact": stop_contact_count(request.user, current_membership(request))})


urlpatterns = [
    path("bench/caseload-baseline/", caseload_baseline, name="bench-caseload-baseline"),
    path("", include("pause_portal.urls")),
]

handler404 = "pause_portal.views.not_found"
handler403 = "pause_portal.views.forbidden"
