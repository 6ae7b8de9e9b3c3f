from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from pause_portal.access import public


@public
def healthz(request):
    """Database and broker status, and nothing else (no personal data, no versions)."""
    status = {"database": "ok", "broker": "ok"}
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means the same thing here
        status["database"] = "unavailable"
    from pause_portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # noqa: BLE001
        status["broker"] = "unavailable"
    healthy = all(v == "ok" for v in status.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", **status}, status=200 if healthy else 503)


def not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)


def forbidden(request, exception=None):
    return render(request, "errors/403.html", status=403)
