"""A test's caseworker confirms a checked upload, as the extract's page does (no tests here)."""

from __future__ import annotations

from django.urls import reverse

from eligibility.models import Extract, ExtractStatus


def confirm_checked(client, capture_on_commit) -> Extract:
    """Confirm the newest extract waiting for confirmation and run the queued import (eager)."""
    extract = Extract.objects.filter(status=ExtractStatus.CHECKED).order_by("-pk").first()
    assert extract is not None, list(Extract.objects.values_list("status", "failure"))
    with capture_on_commit(execute=True):
        response = client.post(reverse("eligibility:extract-confirm", args=[extract.pk]))
    assert response.status_code == 302, response.status_code
    extract.refresh_from_db()
    return extract
