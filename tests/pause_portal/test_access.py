"""`for_perm`: a view reached only by a current role holding the permission; anyone else gets
404, as if the page did not exist (ADR 3). The mark carries the permission and the roles holding
it, for the URLconf metatest."""

from __future__ import annotations

import pytest
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from pause_portal import access
from pause_portal.access import SIGNED_IN, access_of, for_perm, perm_of, public, signed_in
from pause_portal.tenancy.roles import Perm, Role, role_has, roles_with


def _page(request):
    return HttpResponse("the page")


@pytest.mark.parametrize("perm", list(Perm))
@pytest.mark.parametrize("role", [*Role, None])
def test_only_a_role_holding_the_permission_reaches_the_view(perm, role, monkeypatch):
    monkeypatch.setattr(access, "current_role", lambda request: role)
    view = for_perm(perm)(_page)
    request = RequestFactory().get("/")
    if role is not None and role_has(role, perm):
        assert view(request).content == b"the page"
    else:
        with pytest.raises(Http404):
            view(request)


def test_the_mark_names_the_permission_and_the_roles_holding_it():
    view = for_perm(Perm.CONFIRM_PHASE_CHANGE)(_page)
    assert perm_of(view) == Perm.CONFIRM_PHASE_CHANGE
    assert access_of(view) == (SIGNED_IN, roles_with(Perm.CONFIRM_PHASE_CHANGE))
    assert access_of(view)[1] == {Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN}
    assert view.__name__ == "_page"


def test_other_marks_carry_no_permission():
    assert perm_of(signed_in(lambda request: None)) is None
    assert perm_of(public(lambda request: None)) is None
    assert perm_of(lambda request: None) is None


def test_a_value_that_is_not_a_permission_is_refused_when_the_view_is_marked():
    with pytest.raises(ValueError):
        for_perm("edit_everything")
