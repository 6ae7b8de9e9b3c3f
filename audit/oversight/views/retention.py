"""The retention page for the DPO and the Caldicott Guardian (issue 22, points 3 and 7; ADR 41):
each retention run with its counts and certificate, every purge certificate of the programme (and
the deployment's audit-trail ones), what falls due in the next 90 days, and a preview of the next
run (a dry run, recorded like any other). A purge certificate's own page shows every field in
words and whether its digest still re-checks. Each view is recorded in the audit trail."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from audit.core.certificates import certificate_text, digest_holds
from audit.core.models_certificates import PurgeCertificate, PurgeKind
from audit.oversight import retention_page
from eligibility.disclosure import record_disclosure, record_staff_view
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership
from sharing.retention import RetentionScheduleError, apply_retention
from sharing.retention_due import WINDOW_DAYS
from sharing.trust_copy_schedule import preview as trust_copy_preview

RUNS_PER_PAGE = 25
TRUST_COPY_PREVIEW = "retention_preview_trust_copy"  # the session's last Trust-copy dry run, by run


@for_perm(Perm.VIEW_RETENTION)
@require_safe
def retention(request):
    membership = current_membership(request)
    programme = membership.programme
    page = Paginator(retention_page.runs_of(programme), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    runs = [{"run": r, "how": retention_page.trigger_words(r), "counts": retention_page.run_counts(r)} for r in page]
    preview = None
    if (request.GET.get("preview") or "").isdigit():
        found = retention_page.runs_of(programme).filter(pk=int(request.GET["preview"]), dry_run=True).first()
        if found is not None:
            trust_copy = request.session.get(TRUST_COPY_PREVIEW) or {}
            preview = {"run": found, "counts": retention_page.run_counts(found),
                       "trust_copy": trust_copy.get("counts") if trust_copy.get("run") == found.pk else None,
                       "trust_copy_problem": trust_copy.get("problem") if trust_copy.get("run") == found.pk else ""}
    certificates = retention_page.certificate_rows(programme)
    record_disclosure(request.user, membership=membership, page=request.path, reason="retention page viewed")
    record_staff_view(request, {r.run_by_id: r.run_by for r in page if r.run_by_id}.values(), membership=membership)
    return render(request, "dpo/retention.html", {
        "programme": programme, "page": page, "runs": runs, "preview": preview, "certificates": certificates,
        "due": retention_page.due_within(programme, timezone.now()), "days": WINDOW_DAYS,
    })


@for_perm(Perm.VIEW_RETENTION)
@require_POST
def preview(request):
    """Run the schedule as a dry run now: it deletes nothing and is recorded as a run."""
    membership = current_membership(request)
    try:
        run = apply_retention(membership.programme, dry_run=True, trigger="preview", by=request.user)
    except RetentionScheduleError as refused:
        messages.error(request, "The preview cannot run, and nothing was recorded: "
                                + "; ".join(refused.problems) + ". The agreement's periods need correcting.")
        return redirect("dpo:retention")
    try:  # the Trust's copy too: its dry run is recorded in the audit trail, its counts shown with this run's
        counts = retention_page.trust_copy_counts(trust_copy_preview(membership.programme, by=request.user))
        request.session[TRUST_COPY_PREVIEW] = {"run": run.pk, "counts": counts}
    except RetentionScheduleError as refused:
        request.session[TRUST_COPY_PREVIEW] = {"run": run.pk, "problem": "; ".join(refused.problems)}
    return redirect(f"{reverse('dpo:retention')}?preview={run.pk}#preview")


def _certificate_or_404(request, pk: int) -> PurgeCertificate:
    found = retention_page.purge_certificates_for(current_membership(request).programme).filter(pk=pk).first()
    if found is None:
        raise Http404("No such certificate.")
    return found


@for_perm(Perm.VIEW_RETENTION)
def purge_certificate(request, pk: int):
    found = _certificate_or_404(request, pk)  # first: not yours is 404 whatever the method
    return _show_certificate(request, found)


@require_safe
def _show_certificate(request, found: PurgeCertificate):
    membership = current_membership(request)
    record_disclosure(request.user, membership=membership, target=found, page=request.path,
                      reason="purge certificate viewed")
    record_staff_view(request, [found.purged_by] if found.purged_by_id else [], membership=membership)
    return render(request, "dpo/purge_certificate.html", {
        "certificate": found, "kind": PurgeKind(found.kind).label, "holds": digest_holds(found),
        "text": certificate_text(found), "programme": membership.programme,
    })
