"""Every page of every role in the demo (issue 24, point 4): a crawl from each demo account's
dashboard, following every link on each page it reaches (GET only: GETs change nothing), fails on
- a static asset the page names that the portal does not serve (a 4xx asset);
- a page without breadcrumbs or a back link (the dashboard and the sign-in page are where a person
  starts: they need neither);
- a raw code of the lawful-basis, DPA 2018 Schedule 1 or participation vocabularies (codes that
  are not also their own words);
- one of Django's default messages.

One seed (the demo's, through `seed_demo`), then every account; at most `PER_ROUTE` pages of each
URL name per account, so a list of fifty women is visited through three of them. Marked slow: it
runs once, in `make test` and CI.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import Resolver404, resolve, reverse

from pause_portal.tenancy.models import Person
from pause_portal.tenancy.selectors import active_memberships
from sharing import lawful_bases
from sharing.models_delivery import Participation
from tests.conftest import sign_in_verified

pytestmark = [pytest.mark.slow]

PER_ROUTE = 3
MAX_PAGES = 400  # per account and programme: a bound, never reached by the demo
STARTS = ("dashboard", "accounts:sign-in")  # where a person starts: no breadcrumb needed
NOT_FOLLOWED = ("/static/", "/admin/", "/account/sign-out/", "/healthz")

CODES = sorted(
    {c for c in lawful_bases.ARTICLE_6} | {c for c in lawful_bases.ARTICLE_9} | set(lawful_bases.SEEDED_POWERS)
    | set(lawful_bases.LEGACY_ARTICLE_9) | {"sch1_p1_2", "sch1_p2_6", "sch1_p2_18"}
    # Participation codes that are not English words ("agreed" and "declined" are, and pages use them
    # as words): "not_contacted", "not_reached".
    | {value for value, label in Participation.choices if value != label and "_" in value},
    key=len, reverse=True)
RAW_CODE = re.compile(r"(?<![\w-])(" + "|".join(re.escape(c) for c in CODES) + r")(?![\w-])")
DJANGO_DEFAULTS = ("This field is required.", "Enter a valid", "Ensure this value has at most",
                   "Ensure this value has at least", "Select a valid choice", "Enter a whole number.")


SHOWN = {"eligibility:queue", "eligibility:woman", "scoping:rows", "scoping:tables", "delivery:women",
         "delivery:caseload", "delivery:woman", "casework:concern", "rights:request", "rights:breach",
         "governance:agreement", "governance:notices", "people:list", "privacy-notice"}


def visible_text(html: str) -> str:
    """What a reader sees: no tags, attribute values, scripts or styles (a code may be a form's value)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def _route(path: str) -> str | None:
    try:
        return resolve(urlsplit(path).path).view_name
    except Resolver404:
        return None


def crawl(client: Client, visited: set[str]) -> dict[str, list[str]]:
    """Problems by page, for every page this signed-in client reaches from the dashboard; adds the
    URL names of the pages it read to `visited`."""
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    per_route: dict[str, int] = {}
    queue = deque([reverse("dashboard")])
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        visited.add(_route(url) or url)
        found = []
        for asset in set(re.findall(r'(?:href|src)="/static/([^"?#]+)', html)):
            if not finders.find(asset):
                found.append(f"asset not served: /static/{asset}")
        name = _route(url)
        if name not in STARTS and "govuk-breadcrumbs" not in html and "govuk-back-link" not in html:
            found.append("no breadcrumbs or back link")
        text = visible_text(html)
        found += [f"raw code: {code}" for code in sorted(set(RAW_CODE.findall(text)))]
        found += [f"Django's message: {m}" for m in DJANGO_DEFAULTS if m in text]
        if found:
            problems[url] = found
        for href in re.findall(r'<a [^>]*href="(/[^"#]*)"', html):
            href = href.replace("&amp;", "&")
            if href.startswith(NOT_FOLLOWED) or href in seen:
                continue
            route = _route(href)
            if route is None or per_route.get(route, 0) >= PER_ROUTE:
                continue
            per_route[route] = per_route.get(route, 0) + 1
            queue.append(href)
    assert len(seen) > 3, "the crawl reached the account's pages"
    return problems


def accounts() -> list[tuple[str, int | None]]:
    """(email, programme id) for every demo account in each of its programmes."""
    out = []
    for person in Person.objects.filter(is_active=True).order_by("email"):
        programmes = list(active_memberships(person).values_list("programme_id", flat=True)) or [None]
        out += [(person.email, p) for p in programmes]
    return out


@pytest.mark.django_db
@override_settings(DEMO=True)
def test_every_page_of_every_role_in_the_demo(capsys):
    call_command("seed_demo")
    capsys.readouterr()
    everything: dict[str, dict[str, list[str]]] = {}
    crawled, visited = 0, set()
    for email, programme_id in accounts():
        client = sign_in_verified(Client(), Person.objects.get(email=email))
        if programme_id is not None:
            client.post(reverse("choose-programme"), {"programme": programme_id})
        problems = crawl(client, visited)
        crawled += 1
        if problems:
            everything[f"{email} (programme {programme_id})"] = problems
    assert crawled >= 14  # every demo account, the Pause lead in both programmes
    # The demo shows every role something (point 5): these pages were reached with data behind them.
    assert SHOWN <= visited, SHOWN - visited
    assert everything == {}
