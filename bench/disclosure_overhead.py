"""What the audit costs a page, against the same page with no audit (the baseline), in one run.

A signed-in caseworker requests a 50-row page through the whole middleware stack (in-process
client). Baseline: the view renders the rows. Measured: the same view takes its rows from
`disclose()`, which writes one entry naming all 50 subjects. Also shown: one entry per row (what
per-object access logging would cost), which the portal does not do.

    PORTAL_ENV=test .venv/bin/python bench/disclosure_overhead.py [--rows 50] [--seconds 5]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres PORTAL_ENV=test .venv/bin/python bench/disclosure_overhead.py

Target: the audited page keeps at least 0.5 of the baseline's requests per second.
"""

from __future__ import annotations

import argparse
import sys

from _setup import interleaved_rates, test_database
from django.db import connection, transaction
from django.http import HttpResponse
from django.template import engines
from django.test import Client, override_settings
from django.urls import path

from pause_portal.access import signed_in

TARGET_RATIO = 0.5
PAGE = engines["django"].from_string(
    "<table>{% for r in rows %}<tr><td>{{ r.trust_person_id }}</td><td>{{ r.surname }}</td>"
    "<td>{{ r.age_band }}</td></tr>{% endfor %}</table>"
)


def _rows(request):
    from tests.testapp.models import CaseRecord

    return CaseRecord.objects.filter(programme__memberships__person=request.user).order_by("id")


@signed_in
def plain(request):
    return HttpResponse(PAGE.render({"rows": list(_rows(request))}))


@signed_in
def audited(request):
    from eligibility.disclosure import disclose

    return HttpResponse(PAGE.render({"rows": disclose(request.user, _rows(request), page=request.path).records}))


@signed_in
def per_row(request):
    from audit.core.log import record_event
    from audit.core.models import Event

    rows = list(_rows(request))
    with transaction.atomic():
        for row in rows:
            record_event(Event.DISCLOSURE, actor=request.user, subjects=[row], page=request.path)
    return HttpResponse(PAGE.render({"rows": rows}))


urlpatterns = [path("plain/", plain), path("audited/", audited), path("per-row/", per_row)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with test_database():
        from pause_portal.tenancy.roles import Role
        from tests import factories as f
        from tests.conftest import sign_in_verified
        from tests.testapp.models import CaseRecord

        programme = f.programme()
        caseworker = f.person(programme.trust)
        f.membership(caseworker, programme, Role.TRUST_CASEWORKER)
        CaseRecord.objects.bulk_create(
            CaseRecord(programme=programme, trust_person_id=f"P{n:05d}", surname=f"Synthetic{n}", age_band="25-29")
            for n in range(args.rows)
        )
        with override_settings(ROOT_URLCONF=__name__):
            client = sign_in_verified(Client(), caseworker)

            def page(url):
                def fetch():
                    response = client.get(url)
                    assert response.status_code == 200, response.status_code
                    return 1

                return fetch

            figures = interleaved_rates({n: page(f"/{n}/") for n in ("plain", "audited", "per-row")}, args.seconds)
        base = figures["plain"]
        print(f"database: {connection.vendor}; a {args.rows}-row page, signed in, whole middleware stack; "
              f"median of 5 interleaved slices, {args.seconds}s a page")
        print(f"{'page':<46}{'requests/s':>11}{'vs baseline':>13}")
        print(f"{'baseline: the page, no audit':<46}{base:>11.0f}{1.00:>13.2f}")
        print(f"{'disclose(): one entry naming 50 subjects':<46}{figures['audited']:>11.0f}{figures['audited'] / base:>13.2f}")
        print(f"{'one entry per row (not what the portal does)':<46}{figures['per-row']:>11.0f}{figures['per-row'] / base:>13.2f}")
        ok = figures["audited"] / base >= TARGET_RATIO
        print(f"target: audited page >= {TARGET_RATIO:.2f} x baseline -> {'met' if ok else 'NOT met'}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
