"""Uploading an extract, watching its check, confirming what it will change, watching its import,
and its report. Trust caseworkers and leads only."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from audit.core.log import record_event
from audit.core.models import Event
from eligibility import import_confirmation, importing, uploads
from eligibility.forms import ColumnMappingForm, MappingChoiceForm
from eligibility.models import ColumnMapping, Extract, ExtractStatus
from pause_portal.access import for_perm
from pause_portal.csv_safe import safe_cell
from pause_portal.queue import send_on_commit
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership

ACCEPTED = (".csv", ".zip", ".xlsx")


def _programme(request):
    return current_membership(request).programme


def _extract_or_404(request, pk: int) -> Extract:
    """Fetch and authorise in one step: another programme's extract is no extract."""
    extract = Extract.objects.filter(pk=pk, programme=_programme(request)).select_related("programme").first()
    if extract is None:
        raise Http404("No such extract.")
    return extract


@for_perm(Perm.UPLOAD_EXTRACTS)
@csrf_exempt  # the upload handlers must be set before the body is read; csrf_protect below checks the token
def upload(request):
    programme = _programme(request)
    if request.method == "POST":
        handler = uploads.EncryptingUploadHandler(request, programme.pk)
        request.upload_handlers = [handler]
        try:
            return _receive(request, handler)
        finally:
            # Whatever the answer (refused, a bad token, an error), bytes that no extract records
            # are deleted now: only an upload that became an extract is kept, until its import ends.
            uploads.discard_unless_recorded(handler.upload_id)
    return _upload_page(request, programme)


def _upload_page(request, programme, *, error: str = "", error_field: str = "files", status: int = 200,
                 mapping_form: MappingChoiceForm | None = None):
    mappings = ColumnMapping.objects.filter(programme=programme)
    context = {
        "error": error,
        "error_field": error_field if error_field == "files" or mappings else "files",
        "mappings": mappings,
        "mapping_form": mapping_form or MappingChoiceForm(programme=programme),
        "extracts": Extract.objects.filter(programme=programme).select_related("uploaded_by")[:20],
        "max_mb": uploads.settings.PORTAL_UPLOAD_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "eligibility/upload.html", context, status=status)


@csrf_protect
def _receive(request, handler: uploads.EncryptingUploadHandler):
    programme = _programme(request)
    files = request.FILES.getlist("files")  # parses the body through the encrypting handler
    if handler.too_large:
        return _upload_page(request, programme, status=400,
                            error=f"The selected files must be smaller than {uploads.settings.PORTAL_UPLOAD_MAX_BYTES // (1024 * 1024)} MB in total")
    if not files:
        return _upload_page(request, programme, status=400, error="Select the extract files to upload")
    names = [f.name for f in files]
    if any(not n.lower().endswith(ACCEPTED) for n in names):
        return _upload_page(request, programme, status=400, error="The selected files must be CSV, XLSX or ZIP files")
    choice = MappingChoiceForm(request.POST, programme=programme)
    if not choice.is_valid():
        return _upload_page(request, programme, status=400, error=choice.errors["mapping"][0], error_field="mapping",
                            mapping_form=choice)
    mapping = choice.cleaned_data["mapping"]
    sha = handler.sha256.hexdigest()
    try:
        importing.refuse_if_imported(programme, sha)
    except importing.AlreadyImported as exc:
        return _upload_page(request, programme, status=409, error=str(exc))
    with transaction.atomic():
        extract = Extract.objects.create(
            programme=programme, uploaded_by=request.user, file_names=names, sha256=sha, size_bytes=handler.total,
            column_mapping=mapping, upload_id=handler.upload_id, stored_files=names,
        )
        record_event(Event.CHANGE, actor=request.user, target=extract, programme=programme,
                     role=current_membership(request).role, reason="extract uploaded", action=0)
        send_on_commit("eligibility.run_import", extract.pk, request.user.pk)
    return redirect("eligibility:extract", pk=extract.pk)


WORKING = (ExtractStatus.RECEIVED, ExtractStatus.RUNNING)
LEFT_OUT = {  # the reader's reasons for leaving a row out (ReadContext.left_out), in words
    "youth_justice_legal_status": "youth-justice legal statuses (no rule uses them)",
    "youth_justice_episode": "youth-justice care episodes (no rule uses them)",
}


@for_perm(Perm.UPLOAD_EXTRACTS)
def extract_detail(request, pk: int):
    extract = _extract_or_404(request, pk)
    return render(request, "eligibility/extract.html", {
        "extract": extract,
        "here": f"Extract {extract.pk}",
        "working": extract.status in WORKING,
        "left_out": [(LEFT_OUT.get(reason, reason), n) for reason, n in extract.summary.get("left_out", {}).items()],
        "confirm_by": import_confirmation.confirm_by(extract),
        "errors": [p for p in extract.problems if p["level"] == "error"][:100],
        "warnings": [p for p in extract.problems if p["level"] == "warning"][:100],
        "percent": _percent(extract),
    })


CONFIRM_ANSWERS = {
    import_confirmation.EXPIRED: "This check is more than 24 hours old, so nothing was imported. Upload the files again",
    import_confirmation.NOT_WAITING: "This extract is not waiting for confirmation",
}


@for_perm(Perm.UPLOAD_EXTRACTS)
def extract_confirm(request, pk: int):
    """The caseworker confirms the changes the check showed: the write is queued (or, if another
    extract was imported since, the check runs again)."""
    extract = _extract_or_404(request, pk)
    return _confirm(request, extract)


@require_POST
def _confirm(request, extract):
    outcome = import_confirmation.confirm(extract, by=request.user, role=current_membership(request).role)
    if outcome in CONFIRM_ANSWERS:
        messages.error(request, CONFIRM_ANSWERS[outcome])
    return redirect("eligibility:extract", pk=extract.pk)


@for_perm(Perm.UPLOAD_EXTRACTS)
def extract_cancel(request, pk: int):
    """The caseworker decides not to import a checked extract: its upload is deleted now."""
    extract = _extract_or_404(request, pk)
    return _cancel(request, extract)


@require_POST
def _cancel(request, extract):
    if import_confirmation.cancel(extract, by=request.user, role=current_membership(request).role):
        messages.success(request, "Nothing was imported, and the uploaded files have been deleted")
    else:
        messages.error(request, CONFIRM_ANSWERS[import_confirmation.NOT_WAITING])
    return redirect("eligibility:extract", pk=extract.pk)


def _percent(extract: Extract) -> int:
    if extract.status not in WORKING:
        return 100
    return int(100 * extract.progress_done / extract.progress_total) if extract.progress_total else 0


@for_perm(Perm.UPLOAD_EXTRACTS)
def extract_progress(request, pk: int):
    """Polled by the page's progress bar: status only, no personal data."""
    extract = _extract_or_404(request, pk)
    return JsonResponse({
        "status": extract.status,
        "status_label": extract.get_status_display(),
        "stage": extract.get_stage_display(),
        "percent": _percent(extract),
        "finished": extract.status not in WORKING,
    })


@for_perm(Perm.UPLOAD_EXTRACTS)
def extract_report(request, pk: int):
    extract = _extract_or_404(request, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="extract-{extract.pk}-report.csv"'
    writer = csv.writer(response)
    writer.writerow(["level", "file", "row", "column", "message", "code"])
    for p in extract.problems:
        writer.writerow([safe_cell(p.get(k)) for k in ("level", "file", "row", "column", "message", "code")])
    return response


@for_perm(Perm.UPLOAD_EXTRACTS)
def extract_retry(request, pk: int):
    extract = _extract_or_404(request, pk)
    return _retry(request, extract)


@require_POST
def _retry(request, extract):
    if extract.status != ExtractStatus.FAILED or not extract.upload_id:
        raise Http404("Only a failed import whose upload is still kept can be retried.")
    uploads.mark_queued(extract.upload_id)
    with transaction.atomic():
        Extract.objects.filter(pk=extract.pk).update(status=ExtractStatus.RECEIVED, finished_at=None, failure="")
        send_on_commit("eligibility.run_import", extract.pk, request.user.pk)
    return redirect("eligibility:extract", pk=extract.pk)


@for_perm(Perm.UPLOAD_EXTRACTS)
def mappings(request):
    programme = _programme(request)
    form = ColumnMappingForm(request.POST or None, programme=programme)
    if request.method == "POST" and form.is_valid():
        ColumnMapping.objects.create(programme=programme, name=form.cleaned_data["name"],
                                     columns=form.cleaned_data["columns"], created_by=request.user)
        return redirect(reverse("eligibility:mappings"))
    return render(request, "eligibility/mappings.html", {
        "form": form, "mappings": ColumnMapping.objects.filter(programme=programme)},
        status=400 if form.errors else 200)
