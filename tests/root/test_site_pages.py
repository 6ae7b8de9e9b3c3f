"""The footer and its pages (issue 24, point 4): help, the privacy notice, the accessibility
statement and cookies, on every page, readable without signing in; the favicon and every static
asset a page names is one the portal serves; the cookies page lists exactly the cookies a
sign-in and a form post set."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.core.models import AuditEntry
from pause_portal.site_pages import cookies_set
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world
from tests.totp import code_for

pytestmark = pytest.mark.django_db

PAGES = ("help", "accessibility", "cookies", "privacy-notices")
FOOTER = ("Help", "Privacy notice", "Accessibility statement", "Cookies")


def footer_links(body: str) -> dict[str, str]:
    footer = body.split('id="footer-links"', 1)[1].split("</ul>", 1)[0]
    return {text: href for href, text in re.findall(r'<a class="govuk-footer__link" href="([^"]+)">([^<]+)</a>', footer)}


@pytest.mark.parametrize("name", PAGES)
def test_each_footer_page_is_public_has_a_breadcrumb_and_writes_nothing(name):
    before = AuditEntry.objects.count()
    response = Client().get(reverse(name))
    body = response.content.decode()
    assert response.status_code == 200 and 'class="govuk-breadcrumbs"' in body
    assert set(footer_links(body)) == set(FOOTER)
    assert AuditEntry.objects.count() == before


def test_the_footer_is_on_every_page_and_its_privacy_notice_is_the_current_programmes():
    world = delivery_world(women=0)
    signed_out = footer_links(Client().get(reverse("accounts:sign-in")).content.decode())
    assert signed_out["Privacy notice"] == reverse("privacy-notices")
    for person in (world.trust_lead, world.pause_lead):
        client = sign_in_verified(Client(), person)
        for url in (reverse("dashboard"), reverse("governance:agreement")):
            links = footer_links(client.get(url).content.decode())
            assert links["Privacy notice"] == reverse("privacy-notice", args=[world.programme.pk]), url
            assert set(links) == set(FOOTER)
    index = Client().get(reverse("privacy-notices")).content.decode()
    assert reverse("privacy-notice", args=[world.programme.pk]) in index


def test_a_programme_with_no_notice_in_force_is_not_listed():
    bare = f.programme(name="Synthetic programme with no notice")
    assert reverse("privacy-notice", args=[bare.pk]) not in Client().get(reverse("privacy-notices")).content.decode()


def test_every_static_asset_a_page_names_is_served_the_favicon_too():
    world = delivery_world(women=0)
    bodies = [Client().get(reverse("accounts:sign-in")).content.decode(),
              sign_in_verified(Client(), world.trust_lead).get(reverse("dashboard")).content.decode()]
    named = {m for body in bodies for m in re.findall(r'(?:href|src)="/static/([^"]+)"', body)}
    assert "govuk/assets/images/favicon.ico" in named and "govuk/assets/images/favicon.svg" in named
    for path in named:
        assert finders.find(path), path  # collected and served by whitenoise, never a 404
    css = finders.find("govuk/govuk-frontend.min.css")
    with open(css, encoding="utf-8") as stylesheet:
        assets = re.findall(r"url\((assets/[^)]+)\)", stylesheet.read())
    assert assets
    for asset in assets:
        assert finders.find(f"govuk/{asset}"), asset


def test_the_cookies_page_lists_exactly_the_cookies_the_portal_sets():
    person = f.person(f.organisation(), system_admin=True)
    device = TOTPDevice.objects.get(user=person, confirmed=True)
    client, set_names = Client(enforce_csrf_checks=False), set()
    responses = [client.get(reverse("accounts:sign-in")),
                 client.post(reverse("accounts:sign-in"), {"username": person.email, "password": f.PASSWORD})]
    responses.append(client.post(reverse("accounts:mfa-verify"), {"otp_token": code_for(device)}))
    responses.append(client.get(reverse("dashboard")))
    for response in responses:
        set_names |= set(response.cookies)
    assert responses[-1].status_code == 200, "signed in"
    listed = {c["name"] for c in cookies_set()}
    assert set_names == listed
    page = Client().get(reverse("cookies")).content.decode()
    for name in listed:
        assert f"<code>{name}</code>" in page
