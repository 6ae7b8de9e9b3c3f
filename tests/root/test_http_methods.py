"""Which methods a view accepts is said once, by Django's `require_http_methods` family
(`require_POST`, `require_safe`, ...), never by a hand-written `if request.method ...: return 405`.

Two things are checked here:
- the source of every view module the URLconf reaches under audit/, sharing/, eligibility/ and
  pause_portal/ holds no hand-written refusal of a method (an ast scan, itself tested on the
  pattern it must catch);
- every POST-only view answers GET with 405 and an `Allow: POST` header to a person it lets in,
  with an object of their own where its URL names one. A view whose URL names an object fetches
  and authorises it first (404 whatever the method, ADR 3), then hands it to a function carrying
  the decorator; `allowed_methods` follows that call as well as the decorator chain.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry, Event
from pause_portal.access import PUBLIC, access_of
from pause_portal.tenancy.roles import TRUST_ROLES, Role
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.root import test_urlconf_metatest as meta

pytestmark = pytest.mark.django_db

SCANNED_PACKAGES = ("audit", "sharing", "eligibility", "pause_portal")


# --- the source: no hand-written refusal of a method ----------------------------------------
def _is_request_method(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "method"
            and isinstance(node.value, ast.Name) and node.value.id == "request")


def _refuses(node: ast.AST) -> bool:
    """A 405 made by hand: HttpResponseNotAllowed(...), or any response given status=405."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and inner.id == "HttpResponseNotAllowed":
            return True
        if isinstance(inner, ast.Attribute) and inner.attr == "HttpResponseNotAllowed":
            return True
        if isinstance(inner, ast.Constant) and inner.value == 405:
            return True
    return False


def hand_written_refusals(source: str) -> list[int]:
    """Line numbers of each `if` that tests request.method and answers 405 itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.If) and any(_is_request_method(n) for n in ast.walk(node.test)):
            if any(_refuses(statement) for statement in node.body):
                found.append(node.lineno)
    return found


def view_modules() -> dict[str, Path]:
    """The modules of every view the URLconf reaches (decorators unwrapped), in the scanned packages."""
    modules = {}
    for _, name, callback in meta.all_urls():
        module = inspect.unwrap(callback).__module__
        if module.split(".")[0] in SCANNED_PACKAGES:
            modules[module] = Path(sys.modules[module].__file__)
    return modules


def test_the_scan_finds_a_hand_written_refusal():
    source = textwrap.dedent('''
        def view(request):
            thing = fetch()
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            if request.method not in ("GET", "HEAD"):
                return HttpResponse(status=405)
            form = Form(request.POST if request.method == "POST" else None)
            if request.method == "POST" and form.is_valid():
                return redirect("x")
    ''')
    assert hand_written_refusals(source) == [4, 6]


def test_the_urlconf_reaches_view_modules_of_every_scanned_package():
    packages = {module.split(".")[0] for module in view_modules()}
    assert packages == set(SCANNED_PACKAGES)


def test_no_view_module_refuses_a_method_by_hand():
    found = {module: lines for module, path in sorted(view_modules().items())
             if (lines := hand_written_refusals(path.read_text()))}
    assert found == {}, "use django.views.decorators.http (require_POST, require_safe, require_http_methods)"


# --- the behaviour: every POST-only view answers GET with 405 ------------------------------
def _methods_in_closure(fn) -> list[str] | None:
    if getattr(fn, "__closure__", None):
        return inspect.getclosurevars(fn).nonlocals.get("request_method_list")
    return None


def allowed_methods(view) -> list[str] | None:
    """The methods a view accepts, read from Django's decorator: on the view's own decorator chain,
    or on the module-level function its innermost body hands the request to. None: any method."""
    layer = view
    while layer is not None:
        if (methods := _methods_in_closure(layer)) is not None:
            return methods
        inner = getattr(layer, "__wrapped__", None)
        if inner is None:
            for name in layer.__code__.co_names:
                called = layer.__globals__.get(name)
                if callable(called) and hasattr(called, "__wrapped__"):
                    if (methods := _methods_in_closure(called)) is not None:
                        return methods
        layer = inner
    return None


def post_only_urls() -> dict[str, str]:
    """{url name: pattern} of every POST-only view outside the admin."""
    return {name: pattern for pattern, name, callback in meta.all_urls()
            if name and not name.startswith("admin:") and allowed_methods(callback) == ["POST"]}


def _member(programme, role: Role, person=None):
    person = person or f.person(programme.trust if role in TRUST_ROLES else programme.pause_practice)
    f.membership(person, programme, role)
    return person


def _system_admin(programme):
    return f.person(programme.trust, system_admin=True)


# url name: make (an object, a person who may reach it) in `programme` (or the object's own).
OWN_OBJECTS = {
    "people:send-set-up-link": lambda prog: (f.person(prog.trust, with_device=False), _system_admin(prog)),
    "people:mfa-reset": lambda prog: (f.person(prog.trust), _system_admin(prog)),
    "eligibility:extract-retry": lambda prog: (meta.an_extract(prog), _member(prog, Role.TRUST_LEAD)),
    "eligibility:extract-confirm": lambda prog: (meta.an_extract(prog), _member(prog, Role.TRUST_CASEWORKER)),
    "eligibility:extract-cancel": lambda prog: (meta.an_extract(prog), _member(prog, Role.TRUST_LEAD)),
    "casework:acknowledge": lambda prog: ((c := meta.a_concern(prog)), _member(c.programme, Role.TRUST_LEAD)),
    "casework:close": lambda prog: ((c := meta.a_concern(prog)), _member(c.programme, Role.TRUST_LEAD)),
    "progress:send": lambda prog: ((r := meta.a_quarterly_report(prog)), r.written_by),
    "dpo:request-search": lambda prog: (meta.a_rights_request(prog), _member(prog, Role.DPO)),
    "dpo:export": lambda prog: ((s := meta.a_review_search(prog)), _member(prog, Role.DPO, s.by)),
    "rights:pack-download": lambda prog: (meta.a_rights_request(prog), _member(prog, Role.DPO)),
    "rights:pack-withhold": lambda prog: (meta.a_rights_request(prog), _member(prog, Role.DPO)),
    "conflicts:withdraw": lambda prog: ((d := meta.a_declaration(prog)),
                                        _member(prog, Role.TRUST_CASEWORKER, d.declared_by)),
}


def test_the_post_only_views_are_found_and_those_with_an_object_are_all_covered():
    found = post_only_urls()
    assert {"accounts:sign-out", "eligibility:run-rules", "casework:acknowledge", "dpo:export"} <= set(found)
    assert {name for name, pattern in found.items() if "<int:" in pattern} == set(OWN_OBJECTS)


def _assert_405(response, name):
    assert response.status_code == 405, (name, response.status_code)
    assert response["Allow"] == "POST", (name, response["Allow"])


def test_every_post_only_view_without_an_object_answers_get_with_405(programme):
    for name, pattern in sorted(post_only_urls().items()):
        if name in OWN_OBJECTS:
            continue
        _, callback = next((p, cb) for p, n, cb in meta.all_urls() if n == name)
        access, roles = access_of(callback)
        if access == PUBLIC:
            client = Client()
        else:
            role = sorted(roles)[0]
            person = _system_admin(programme) if role == Role.SYSTEM_ADMIN else _member(programme, role)
            client = sign_in_verified(Client(), person)
        _assert_405(client.get(reverse(name, kwargs=meta.kwargs_for(pattern))), name)


@pytest.mark.parametrize("name", sorted(OWN_OBJECTS))
def test_every_post_only_view_with_an_object_answers_its_own_person_get_with_405(name, programme):
    obj, person = OWN_OBJECTS[name](programme)
    response = sign_in_verified(Client(), person).get(reverse(name, args=[obj.pk]))
    _assert_405(response, name)
    assert not AuditEntry.objects.filter(event=Event.REFUSED, actor=person).exists()  # 405 is not a refusal entry
