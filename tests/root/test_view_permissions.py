"""Views gate on permissions (issue 20, point 2), proved two ways:

- who reaches each URL did not change when the role marks (`for_roles(Role.X, ...)`) became
  permission marks (`for_perm(Perm.X)`): `url_roles_at_5dba481.json` is the URLconf's access map
  taken once from the role marks at commit 5dba481, the last before the change — every named URL
  but the admin's, its mark (`public`, `mfa_step`) or the roles that reached it — and every URL in
  it reaches exactly those roles now (URLs added later are not in it, and not compared);
- every permission in the vocabulary is checked somewhere in the product: some `for_perm` mark
  or `role_has` call names it (an ast scan of audit/, sharing/, eligibility/ and pause_portal/,
  itself tested on the pattern it must catch). A permission nothing checks is deleted, not kept as
  a promise.
"""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

from pause_portal.access import MFA_STEP, PUBLIC, access_of, perm_of
from pause_portal.tenancy.roles import Perm, Role, roles_with
from tests.root import test_urlconf_metatest as meta

ROOT = Path(__file__).resolve().parents[2]
BEFORE = json.loads((Path(__file__).with_name("url_roles_at_5dba481.json")).read_text())
PRODUCT_PACKAGES = ("audit", "sharing", "eligibility", "pause_portal")
CHECKS = {"for_perm", "role_has"}


def _access_now() -> dict[str, str | list[str]]:
    now = {}
    for _, name, callback in meta.all_urls():
        if name is None or name.startswith("admin:"):
            continue
        access, roles = access_of(callback)
        now[name] = access if access in (PUBLIC, MFA_STEP) else sorted(str(r) for r in roles)
    return now


def test_every_url_reaches_the_roles_it_reached_before_the_permission_marks():
    now = _access_now()
    assert set(BEFORE) <= set(now), f"gone from the URLconf: {sorted(set(BEFORE) - set(now))}"
    changed = {name: (was, now[name]) for name, was in BEFORE.items() if now[name] != was}
    assert changed == {}


def test_the_snapshot_is_the_whole_urlconf_of_its_day():
    """The comparison above is not vacuous: the snapshot names every kind of mark, and 83 URLs
    gated to some roles but not all."""
    kinds = {v if isinstance(v, str) else "roles" for v in BEFORE.values()}
    assert kinds == {PUBLIC, MFA_STEP, "roles"}
    assert len([v for v in BEFORE.values() if isinstance(v, list) and len(v) < len(Role)]) == 83


def test_each_permission_mark_reaches_exactly_the_roles_holding_its_permission():
    for _, name, callback in meta.all_urls():
        perm = perm_of(callback)
        if perm is not None:
            assert access_of(callback)[1] == roles_with(perm), name


# --- every permission is checked somewhere ------------------------------------------------------
def _call_name(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def checked_perms(source: str) -> set[str]:
    """The `Perm.X` names passed to a `for_perm(...)` or `role_has(...)` call in this source."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _call_name(node) in CHECKS:
            for arg in ast.walk(ast.Module(body=[ast.Expr(a) for a in node.args], type_ignores=[])):
                if (isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name)
                        and arg.value.id == "Perm"):
                    found.add(arg.attr)
    return found


def _product_sources():
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_the_scan_finds_permissions_named_in_a_check_and_nowhere_else():
    source = textwrap.dedent("""
        @for_perm(Perm.EDIT_RULE_SET)
        def view(request):
            if role_has(membership.role, Perm.RECORD_CONTACT) and not roles.role_has(r, Perm.ASSIGN_CASELOAD):
                listed = [Perm.MANAGE_PEOPLE]
            return describe(Perm.MANAGE_PROGRAMMES)
    """)
    assert checked_perms(source) == {"EDIT_RULE_SET", "RECORD_CONTACT", "ASSIGN_CASELOAD"}


def test_every_permission_is_checked_somewhere_in_the_product():
    checked = set()
    for path in _product_sources():
        checked |= checked_perms(path.read_text())
    unchecked = sorted(p.name for p in Perm if p.name not in checked)
    assert unchecked == [], "check these permissions somewhere, or delete them from Perm"
