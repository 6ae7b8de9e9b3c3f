"""The Trust lead's delivery pages: release women to Pause for delivery (each with the address to
contact her at, and a Trust contact), what each release was, and withdrawing a woman's release.
A woman who declined Pause or withdrew before is shown with her do-not-approach marker, and is
released only with the Trust's reason to approach her again (issue 22, point 5).

Names reach the page only through the disclosure policy (one entry per page view). Nothing is
written unless the whole release can go ahead; the action's refusals are shown in the error
summary.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from eligibility.disclosure import disclose
from eligibility.models import Decision, Woman
from eligibility.release import releasable
from pause_portal import presenting
from pause_portal.access import for_perm
from pause_portal.confirming import confirmation_page, confirmed
from pause_portal.tenancy.models import Membership, MembershipStatus, Person, Phase, Programme
from pause_portal.tenancy.roles import Perm, Role
from pause_portal.tenancy.selectors import current_membership
from sharing.agreements import DATA_ITEMS
from sharing.data_items import agreed_items
from sharing.delivery_access import decide_within_days
from sharing.delivery_changes import changes_since_release, confirm_absence, out_of_view, reinstate
from sharing.delivery_release import (
    DeliveryReleaseRefused,
    ToRelease,
    asks_address,
    delivery_blockers,
    release_for_delivery,
    withdraw_from_delivery,
)
from sharing.do_not_approach import in_words, live_markers
from sharing.forms_delivery import (
    DeliveryReleaseForm,
    ReleasedWomanForm,
    address_field,
    approach_field,
)
from sharing.models_delivery import DeliveryRelease, ReleasedWoman

CONTACT_ROLES = (Role.TRUST_LEAD, Role.TRUST_CASEWORKER)


def releasable_for_delivery(programme: Programme) -> QuerySet[Woman]:
    """Women the Trust lead may release now: `releasable`, and never released for delivery (a
    withdrawn release is not made again)."""
    return releasable(Woman.objects.filter(programme=programme)).exclude(
        pk__in=ReleasedWoman.objects.filter(programme=programme).values("woman_id")).order_by("pk")


def _trust_contacts(programme: Programme) -> list[tuple[int, str]]:
    rows = (Membership.objects.filter(programme=programme, status=MembershipStatus.ACTIVE, role__in=CONTACT_ROLES,
                                      person__is_active=True, person__organisation_id=programme.trust_id)
            .select_related("person").order_by("person__full_name", "pk"))
    return [(m.person_id, f"{m.person.full_name} ({m.get_role_display()})") for m in rows]


def named_women(request, women: list[Woman], reason: str) -> dict[int, dict]:
    """The women's name, date of birth and postcode as the disclosure policy serves them (one entry)."""
    if not women:
        return {}
    return {w.pk: {"name": presenting.name(w.get("forename"), w.get("surname")),
                   "date_of_birth": presenting.day(w.get("date_of_birth")),
                   "postcode": presenting.text(w.get("postcode"))}
            for w in disclose(request.user, women, page=request.path, reason=reason)}


def _candidates(named: dict[int, dict], women: list[Woman], form, markers: dict) -> list[dict]:
    latest = {d.woman_id: d for d in Decision.objects.filter(woman__in=women).order_by("woman_id", "pk")}
    chosen = {int(v) for v in form.data.getlist("women") if v.isdigit()} if form.is_bound else set()
    out = []
    for w in women:
        if w.pk not in named:
            continue
        decision = latest.get(w.pk)
        field = form[address_field(w.pk)] if form.asks_address else None
        if field is not None:
            field.label = f"Address to contact {named[w.pk]['name']} at"
        marker = markers.get(w.pk)
        out.append({**named[w.pk], "pk": w.pk, "address": field, "checked": w.pk in chosen,
                    "decision": decision.get_outcome_display() if decision else "",
                    "marker": in_words(marker) if marker else "",
                    "approach_again": form[approach_field(w.pk)] if marker and w.pk in form.marked else None})
    return out


@for_perm(Perm.RELEASE_TO_PAUSE)
@require_http_methods(["GET", "HEAD", "POST"])
def release_page(request):
    programme = current_membership(request).programme
    in_delivery = programme.phase == Phase.DELIVERY
    women = list(releasable_for_delivery(programme)) if in_delivery else []
    contacts = _trust_contacts(programme)
    named = named_women(request, women, "delivery release: women who can be released")
    markers = live_markers(programme.pk, women)  # she declined or withdrew before (issue 22, point 5)
    form = DeliveryReleaseForm(request.POST if request.method == "POST" else None,
                               candidates=[w.pk for w in women if w.pk in named], contacts=contacts,
                               names={pk: n["name"] for pk, n in named.items()},
                               marked={pk: in_words(m) for pk, m in markers.items()},
                               asks_address=asks_address(programme), initial={"trust_contact": request.user.pk})
    refusal = None
    if request.method == "POST":
        if not in_delivery:
            refusal = DeliveryReleaseRefused("Delivery releases are made only while the programme is in delivery.")
        elif form.is_valid():
            by_pk = {w.pk: w for w in women}
            chosen = [ToRelease(by_pk[pk], form.address_of(pk), form.approach_reason_of(pk))
                      for pk in sorted(form.cleaned_data["women"])]
            contact = Person.objects.filter(pk=form.cleaned_data["trust_contact"]).first()
            try:
                release = release_for_delivery(programme, chosen, by=request.user, trust_contact=contact)
            except DeliveryReleaseRefused as exc:
                refusal = exc
            else:
                messages.success(request, f"{release.women_count} wom{'an' if release.women_count == 1 else 'en'} "
                                          f"released to Pause for delivery, with {release.children_count} "
                                          f"child{'' if release.children_count == 1 else 'ren'} as delivery tokens.")
                return redirect("delivery:release")
    releases = list(DeliveryRelease.objects.filter(programme=programme).select_related("released_by", "agreement",
                                                                                    "trust_notice")
                    .order_by("-released_at", "-pk"))
    current = list(ReleasedWoman.objects.filter(programme=programme, withdrawn_at__isnull=True)
                   .select_related("woman").order_by("released_at", "pk")) if in_delivery else []
    released_names = named_women(request, [r.woman for r in current], "delivery release: women released")
    return render(request, "delivery/release.html", {
        "programme": programme, "in_delivery": in_delivery, "form": form, "refusal": refusal,
        "candidates": _candidates(named, women, form, markers) if women else [],
        "blockers": delivery_blockers(programme) if in_delivery else [],
        "shared_items": [DATA_ITEMS[Phase.DELIVERY][c] for c in agreed_items(programme, Phase.DELIVERY)],
        "releases": releases,
        "released": [{"pk": r.pk, "released_at": r.released_at, **released_names[r.woman_id]}
                     for r in current if r.woman_id in released_names],
    }, status=400 if refusal or form.errors else 200)


def _posted_release(request, **only) -> ReleasedWoman:
    """The release the form posts, of this programme in delivery (and matching `only`); 404 for
    anything else."""
    programme = current_membership(request).programme
    form = ReleasedWomanForm(request.POST)
    if programme.phase != Phase.DELIVERY or not form.is_valid():
        raise Http404("No such release.")
    released = ReleasedWoman.objects.filter(pk=form.cleaned_data["released"], programme=programme, **only).first()
    if released is None:
        raise Http404("No such release.")
    return released


@for_perm(Perm.RELEASE_TO_PAUSE)
@require_POST
def withdraw(request):
    """Withdraw one woman's delivery release: she leaves every Pause view at once. The first POST
    asks to confirm (naming her, as the release page does); only the confirmed one acts."""
    released = _posted_release(request, withdrawn_at__isnull=True)
    if not confirmed(request):
        named = named_women(request, [released.woman], "delivery release: confirm a withdrawal")
        if released.woman_id not in named:
            raise Http404("No such release.")
        return confirmation_page(
            request, question=f"Are you sure you want to withdraw the release of {named[released.woman_id]['name']}?",
            caption=f"Born {named[released.woman_id]['date_of_birth']}",
            consequences=["She leaves every Pause view at once, and her place in a practitioner's caseload ends.",
                          "A withdrawn release is not made again. You can reinstate it on the changes since release "
                          "page only when a new decision allows."],
            button="Withdraw the release", cancel_url=reverse("delivery:release"))
    try:
        withdraw_from_delivery(released, by=request.user)
    except DeliveryReleaseRefused as exc:
        raise Http404(exc.message) from exc
    messages.success(request, f"Release of released woman #{released.pk} withdrawn: Pause no longer sees her.")
    return redirect("delivery:release")


@for_perm(Perm.RELEASE_TO_PAUSE)
@require_http_methods(["GET", "HEAD"])
def changes(request):
    """Changes since release: what the Trust lead must settle, by when, and whether Pause still
    sees her (ADR 29)."""
    programme = current_membership(request).programme
    in_delivery = programme.phase == Phase.DELIVERY
    rows = changes_since_release(programme) if in_delivery else []
    out = out_of_view(programme) if in_delivery else []
    names = named_women(request, [c.released.woman for c in rows] + [r.woman for r in out],
                        "delivery: changes since release")
    return render(request, "delivery/changes.html", {
        "programme": programme, "in_delivery": in_delivery, "days": decide_within_days(programme.pk),
        "rows": [{"change": c, "pk": c.released.pk, "woman_pk": c.released.woman_id, **names[c.released.woman_id]}
                 for c in rows if c.released.woman_id in names],
        "out": [{"pk": r.pk, "woman_pk": r.woman_id, "withdrawn": r.withdrawn_at is not None, **names[r.woman_id]}
                for r in out if r.woman_id in names],
    })


def _settle(request, act, done: str, why: str):
    """Settle one change since release with `act` (confirm_absence or reinstate); the message names
    her as the changes page does ({name} in `done`), one disclosure entry for `why`."""
    released = _posted_release(request)
    try:
        act(released, by=request.user)
    except DeliveryReleaseRefused as exc:
        messages.error(request, exc.message)
    else:
        named = named_women(request, [released.woman], why)
        name = named[released.woman_id]["name"] if released.woman_id in named else "She"
        messages.success(request, done.format(name=name))
    return redirect("delivery:changes")


@for_perm(Perm.RELEASE_TO_PAUSE)
@require_POST
def confirm_absence_view(request):
    """Confirm that a woman missing from the latest extract stays shared with Pause."""
    return _settle(request, confirm_absence, "Confirmed: {name} stays shared with Pause.",
                   "delivery: confirmed she stays shared")


@for_perm(Perm.RELEASE_TO_PAUSE)
@require_POST
def reinstate_view(request):
    """Reinstate a woman's existing release: she is back in Pause's view (ADR 29)."""
    return _settle(request, reinstate, "Reinstated: Pause sees {name} again.", "delivery: reinstated her release")
