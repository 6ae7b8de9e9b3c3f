"""Caseload access has one gate (issue 19, point 6). django-guardian's object permission decides who
sees whom; `CaseloadAssignment` is its history. Every path that puts a woman in a caseload or takes
her out of one writes both or neither, so the (practitioner, woman) pairs holding the permission
are always exactly the open assignments:

- each path (the Pause lead's page: assign, reassign, the same again, unassign; the Trust lead
  withdrawing a release; an upheld objection; erasure; closing the programme; revoking a
  practitioner's role; deactivating one, which hands her caseload over; retention) leaves the two sets equal;
- a real database error in the middle of each write (a trigger raising on the second table's
  insert, update or delete — a temporary trigger on SQLite, a trigger created inside the test's
  transaction on PostgreSQL) leaves neither written;
- no module but `sharing/caseloads.py` writes the permission or creates or updates a history row,
  and no module but `sharing/delivery_access.py` asks guardian who may see whom (read from the
  source with `ast`). Retention and erasure delete a woman with every row of hers, both tables at
  once; they are covered by the path and failure tests, not by the source check.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.oversight import objections
from pause_portal.tenancy.models import Membership, Person, Phase, Programme
from pause_portal.tenancy.selectors import membership_in
from sharing import actions
from sharing.delivery_access import visible_released_women
from sharing.delivery_release import withdraw_from_delivery
from sharing.models_delivery import CaseloadAssignment, CaseloadUserObjectPermission, ReleasedWoman
from sharing.phases import confirm_phase_change, propose_phase_change
from sharing.retention import apply_retention
from tests.audit.oversight.test_rights_world import rights_world
from tests.conftest import sign_in_verified
from tests.sharing.delivery.test_retention import RUN_AT, history
from tests.sharing.delivery.world import delivery_world

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
HISTORY = CaseloadAssignment._meta.db_table
PERMISSION = CaseloadUserObjectPermission._meta.db_table


# --- the invariant ---------------------------------------------------------------------------------
def permitted() -> set[tuple[int, int]]:
    """(practitioner, woman) pairs holding a caseload permission row."""
    return set(CaseloadUserObjectPermission.objects.values_list("user_id", "content_object_id"))


def open_assignments() -> set[tuple[int, int]]:
    return set(CaseloadAssignment.objects.filter(ended_at__isnull=True)
               .values_list("practitioner_id", "released_woman_id"))


def one_gate(expected: set[tuple[int, int]] | None = None) -> set[tuple[int, int]]:
    """The permission and the open history name the same pairs (and those expected, if given)."""
    pairs = permitted()
    assert pairs == open_assignments()
    if expected is not None:
        assert pairs == expected
    return pairs


def seen_by(person: Person, programme: Programme) -> set[int]:
    """What the one reader gate lets this person see now."""
    return set(visible_released_women(person, membership_in(person, programme.pk))
               .values_list("pk", flat=True))


def lead_posts(world, released, practitioner: Person | None, **extra):
    response = sign_in_verified(Client(), world.pause_lead).post(
        reverse("delivery:woman", args=[released.pk]),
        {"action": "assign", "practitioner": practitioner.pk if practitioner else "", **extra})
    assert response.status_code == 302
    return response


# --- every path writes both ------------------------------------------------------------------------
def test_the_lead_page_assigns_reassigns_and_unassigns_both_together():
    world = delivery_world(women=2)
    a, b = world.released
    p1, p2 = world.practitioners
    one_gate(set())
    lead_posts(world, a, p1)
    lead_posts(world, b, p1)
    one_gate({(p1.pk, a.pk), (p1.pk, b.pk)})
    assert seen_by(p1, world.programme) == {a.pk, b.pk} and seen_by(p2, world.programme) == set()
    lead_posts(world, a, p2, back="list", page="1")  # reassigned from the list
    one_gate({(p2.pk, a.pk), (p1.pk, b.pk)})
    assert seen_by(p1, world.programme) == {b.pk} and seen_by(p2, world.programme) == {a.pk}
    lead_posts(world, a, p2)  # already hers: nothing new written
    one_gate({(p2.pk, a.pk), (p1.pk, b.pk)})
    assert CaseloadAssignment.objects.filter(released_woman=a).count() == 2
    lead_posts(world, a, None)
    lead_posts(world, b, None)
    one_gate(set())
    assert seen_by(p1, world.programme) == seen_by(p2, world.programme) == set()
    assert CaseloadAssignment.objects.filter(ended_at__isnull=False).count() == 3


def test_withdrawing_a_release_ends_both():
    world = delivery_world(women=2)
    a, b = world.released
    world.assign(a)
    world.assign(b)
    response = sign_in_verified(Client(), world.trust_lead).post(reverse("delivery:withdraw"), {"released": a.pk,
                                                                                                  "confirmed": "yes"})
    assert response.status_code == 302
    one_gate({(world.practitioners[0].pk, b.pk)})


def test_an_upheld_objection_ends_both_through_end_for():
    w = rights_world(women=2)
    first, second = w.delivery.released
    w.delivery.assign(first, w.delivery.practitioners[0])
    w.delivery.assign(second, w.delivery.practitioners[1])
    w.uphold(w.request("objection"))
    one_gate({(w.delivery.practitioners[1].pk, second.pk)})


def test_erasing_her_removes_both():
    w = rights_world(women=2)
    first, second = w.delivery.released
    w.delivery.assign(first, w.delivery.practitioners[0])
    w.delivery.assign(second, w.delivery.practitioners[1])
    w.erase(w.request("erasure"))
    assert not ReleasedWoman.objects.filter(pk=first.pk).exists()
    one_gate({(w.delivery.practitioners[1].pk, second.pk)})


def test_closing_the_programme_ends_both_for_everyone():
    world = delivery_world(women=2)
    a, b = world.released
    world.assign(a, world.practitioners[0])
    world.assign(b, world.practitioners[1])
    other = delivery_world(women=1)
    other.assign(other.released[0])
    change = propose_phase_change(programme=world.programme, by=world.trust_lead, reason="The programme ends")
    confirm_phase_change(change=change, by=world.caldicott, justification="Synthetic justification")
    one_gate({(other.practitioners[0].pk, other.released[0].pk)})


def test_revoking_a_practitioners_role_ends_both_for_them_only(system_admin):
    world = delivery_world(women=2)
    a, b = world.released
    p1, p2 = world.practitioners
    world.assign(a, p1)
    world.assign(b, p2)
    done = actions.revoke_role(membership=Membership.objects.get(person=p1, programme=world.programme),
                               by=system_admin)
    assert (done.assignments_ended, done.permissions_removed) == (1, 1)
    one_gate({(p2.pk, b.pk)})


def test_deactivating_a_practitioner_hands_her_caseload_over_ending_both_for_her_only(system_admin):
    world = delivery_world(women=2)
    a, b = world.released
    p1, p2 = world.practitioners
    world.assign(a, p1)
    world.assign(b, p2)
    actions.deactivate_person(person=p1, by=system_admin)
    one_gate({(p2.pk, b.pk)})  # her caseload is handed over (issue 22): both end, together
    assert seen_by(Person.objects.get(pk=p1.pk), world.programme) == set()


def test_retention_removes_both_with_the_woman():
    world = history()
    a = world.released[0]
    before = one_gate()
    assert (world.practitioners[0].pk, a.pk) in before  # declined long ago, still assigned
    with time_machine.travel(RUN_AT, tick=False):
        apply_retention(world.programme, dry_run=False, trigger="command")
    assert not ReleasedWoman.objects.filter(pk=a.pk).exists()
    assert one_gate() == {pair for pair in before if pair[1] != a.pk} != before


# --- a failure in the middle of a write leaves neither --------------------------------------------
@pytest.fixture
def fail_on():
    """`fail_on(table, "INSERT" | "UPDATE" | "DELETE")`: from now on that write to that table
    raises a real database error (a trigger). Dropped afterwards."""
    made = []

    def install(table: str, operation: str) -> None:
        name = f"caseload_gate_fault_{len(made)}"
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(f"CREATE TEMP TRIGGER {name} BEFORE {operation} ON {table} "
                               f"BEGIN SELECT RAISE(ABORT, 'forced failure: {operation} on {table}'); END")
            else:
                cursor.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                               f"RAISE EXCEPTION 'forced failure: % on %', TG_OP, TG_TABLE_NAME; END $$")
                cursor.execute(f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW "
                               f"EXECUTE FUNCTION {name}()")
        made.append((name, table))

    yield install
    with connection.cursor() as cursor:
        for name, table in made:
            if connection.vendor == "sqlite":
                cursor.execute(f"DROP TRIGGER IF EXISTS temp.{name}")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")


def unchanged(action, before: set[tuple[int, int]]) -> None:
    rows = list(CaseloadAssignment.objects.order_by("pk").values_list("pk", "ended_at", "ended_by_id"))
    with pytest.raises(DatabaseError, match="forced failure"):
        action()
    one_gate(before)
    assert list(CaseloadAssignment.objects.order_by("pk").values_list("pk", "ended_at", "ended_by_id")) == rows


# Opening writes the permission, then the history row; closing ends the history rows, then removes
# the permissions. Each fault below fails the first or the second of the two writes.
OPENING = [(PERMISSION, "INSERT"), (HISTORY, "INSERT")]
CLOSING = [(HISTORY, "UPDATE"), (PERMISSION, "DELETE")]
# Closing the programme deletes the caseload history with the rest of its case data (ADR 39).
CLOSING_PROGRAMME = [(HISTORY, "DELETE"), (PERMISSION, "DELETE")]


@pytest.mark.parametrize("table, operation", OPENING)
def test_a_failed_assignment_writes_neither(fail_on, table, operation):
    world = delivery_world(women=1)
    fail_on(table, operation)
    unchanged(lambda: world.assign(world.released[0]), set())


@pytest.mark.parametrize("table, operation", OPENING + CLOSING)
def test_a_failed_reassignment_leaves_the_first_practitioner_with_both(fail_on, table, operation):
    world = delivery_world(women=1)
    [a] = world.released
    p1, p2 = world.practitioners
    world.assign(a, p1)
    fail_on(table, operation)
    unchanged(lambda: world.assign(a, p2), {(p1.pk, a.pk)})
    assert seen_by(p1, world.programme) == {a.pk} and seen_by(p2, world.programme) == set()


@pytest.mark.parametrize("table, operation", CLOSING)
def test_a_failed_unassignment_from_the_lead_page_leaves_both(fail_on, table, operation):
    world = delivery_world(women=1)
    [a] = world.released
    world.assign(a)
    fail_on(table, operation)
    client = sign_in_verified(Client(raise_request_exception=True), world.pause_lead)
    unchanged(lambda: client.post(reverse("delivery:woman", args=[a.pk]), {"action": "assign", "practitioner": ""}),
              {(world.practitioners[0].pk, a.pk)})


@pytest.mark.parametrize("table, operation", CLOSING)
def test_a_failed_withdrawal_leaves_both_and_her_release(fail_on, table, operation):
    world = delivery_world(women=1)
    [a] = world.released
    world.assign(a)
    fail_on(table, operation)
    unchanged(lambda: withdraw_from_delivery(a, by=world.trust_lead), {(world.practitioners[0].pk, a.pk)})
    assert ReleasedWoman.objects.get(pk=a.pk).withdrawn_at is None


@pytest.mark.parametrize("table, operation", CLOSING)
def test_a_failed_end_for_an_upheld_objection_leaves_both(fail_on, table, operation):
    w = rights_world(women=1)
    [first] = w.delivery.released
    w.delivery.assign(first, w.delivery.practitioners[0])
    fail_on(table, operation)
    unchanged(lambda: objections.end_pause_access(first.woman, by=w.caldicott, why="objection upheld"),
              {(w.delivery.practitioners[0].pk, first.pk)})
    assert ReleasedWoman.objects.get(pk=first.pk).withdrawn_at is None


@pytest.mark.parametrize("table, operation", CLOSING_PROGRAMME)
def test_a_failed_close_of_the_programme_leaves_both(fail_on, table, operation):
    world = delivery_world(women=2)
    a, b = world.released
    world.assign(a, world.practitioners[0])
    world.assign(b, world.practitioners[1])
    change = propose_phase_change(programme=world.programme, by=world.trust_lead, reason="The programme ends")
    fail_on(table, operation)
    unchanged(lambda: confirm_phase_change(change=change, by=world.caldicott, justification="Synthetic justification"),
              {(world.practitioners[0].pk, a.pk), (world.practitioners[1].pk, b.pk)})
    assert Programme.objects.get(pk=world.programme.pk).phase == Phase.DELIVERY


@pytest.mark.parametrize("table, operation", CLOSING)
def test_a_failed_revocation_leaves_both(fail_on, system_admin, table, operation):
    world = delivery_world(women=1)
    [a] = world.released
    p1 = world.practitioners[0]
    world.assign(a, p1)
    membership = Membership.objects.get(person=p1, programme=world.programme)
    fail_on(table, operation)
    unchanged(lambda: actions.revoke_role(membership=membership, by=system_admin), {(p1.pk, a.pk)})
    assert Membership.objects.get(pk=membership.pk).revoked_at is None


@pytest.mark.parametrize("table, operation", CLOSING)
def test_a_failed_deactivation_leaves_both_and_her_active(fail_on, system_admin, table, operation):
    world = delivery_world(women=1)
    [a] = world.released
    p1 = world.practitioners[0]
    world.assign(a, p1)
    fail_on(table, operation)
    unchanged(lambda: actions.deactivate_person(person=p1, by=system_admin), {(p1.pk, a.pk)})
    assert Person.objects.get(pk=p1.pk).is_active


@pytest.mark.parametrize("table", [HISTORY, PERMISSION])
def test_a_failed_retention_run_leaves_both(fail_on, table):
    world = history()
    before = one_gate()
    fail_on(table, "DELETE")
    with time_machine.travel(RUN_AT, tick=False):
        unchanged(lambda: apply_retention(world.programme, dry_run=False, trigger="command"), before)
    assert ReleasedWoman.objects.filter(pk=world.released[0].pk).exists()


def test_a_failed_erasure_leaves_both(fail_on):
    w = rights_world(women=1)
    [first] = w.delivery.released
    w.delivery.assign(first, w.delivery.practitioners[0])
    request = w.request("erasure")
    fail_on(PERMISSION, "DELETE")
    unchanged(lambda: w.erase(request), {(w.delivery.practitioners[0].pk, first.pk)})
    assert ReleasedWoman.objects.filter(pk=first.pk).exists()


def test_the_fault_is_real_and_only_where_it_is_put(fail_on):
    """The trigger fails the write it is put on, and only that one (so the tests above fail the
    action mid-way, not before it starts)."""
    world = delivery_world(women=2)
    a, b = world.released
    world.assign(a)
    fail_on(HISTORY, "UPDATE")
    world.assign(b)  # inserts only: not stopped
    with pytest.raises(DatabaseError, match="forced failure"), transaction.atomic():
        CaseloadAssignment.objects.filter(released_woman=a).update(ended_at=timezone.now())
    one_gate({(world.practitioners[0].pk, a.pk), (world.practitioners[0].pk, b.pk)})


# --- the gate stays one: read from the source ------------------------------------------------------
GUARDIAN_WRITES = {"assign_perm", "remove_perm", "bulk_assign_perm", "bulk_remove_perm", "assign_perm_to_many"}
GUARDIAN_READS = {"get_objects_for_user", "get_objects_for_group", "get_users_with_perms", "get_perms",
                  "get_user_perms", "ObjectPermissionChecker", "get_perms_for_model"}
ROW_WRITES = {"create", "update", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
CASELOAD_MODELS = {"CaseloadAssignment", "CaseloadUserObjectPermission"}
WRITER = "sharing/caseloads.py"
READER = "sharing/delivery_access.py"
TABLES = "sharing/models_delivery.py"
SKIPPED = {".venv", "var", "tests", "migrations", "node_modules", "test-artifacts", "docs", "deploy"}


def _root_name(node: ast.AST) -> str | None:
    """The name a chain like `CaseloadAssignment.objects.filter(...).update` starts from."""
    while True:
        if isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def _caseload_names(tree: ast.AST) -> dict[str, str]:
    """The models' names, and every name in the module bound to a queryset or row made from them
    (`current = CaseloadAssignment.objects.filter(...)`, so `current.update(...)` counts too),
    each with the model it came from."""
    names, grew = {m: m for m in CASELOAD_MODELS}, True
    while grew:
        grew = False
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None \
                    and _root_name(node.value) in names:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in ast.walk(ast.Tuple(elts=targets)):
                    if isinstance(target, ast.Name) and target.id not in names:
                        names[target.id] = names[_root_name(node.value)]
                        grew = True
    return names


def gate_breaches(path: str, source: str) -> list[str]:
    """Where this module writes a caseload permission or history row, or asks guardian who may see
    whom, without being the module whose job that is."""
    found = []
    tree = ast.parse(source)
    caseload_names = _caseload_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = getattr(node, "module", None) or ""
            names = {a.name for a in node.names}
            if module.startswith("guardian") or any(n.startswith("guardian") for n in names):
                if path not in (WRITER, READER, TABLES):
                    found.append(f"{path}:{node.lineno} imports guardian")
                elif path != WRITER and names & GUARDIAN_WRITES:
                    found.append(f"{path}:{node.lineno} imports a guardian permission write")
                elif path != READER and names & GUARDIAN_READS:
                    found.append(f"{path}:{node.lineno} imports a guardian access check")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if path != WRITER and called in GUARDIAN_WRITES:
            found.append(f"{path}:{node.lineno} calls {called}")
        if path != READER and called in GUARDIAN_READS - {"get_perms_for_model"}:
            found.append(f"{path}:{node.lineno} calls {called}")
        if path != WRITER and isinstance(func, ast.Name) and func.id in CASELOAD_MODELS:
            found.append(f"{path}:{node.lineno} makes a {func.id}")
        model = caseload_names.get(_root_name(func) or "") if isinstance(func, ast.Attribute) else None
        # Removing a permission row is a write of the gate; deleting an ended history row (retention)
        # is not, and deleting her whole record takes both (the path tests cover those).
        if path != WRITER and model and (called in ROW_WRITES
                                         or (called == "delete" and model == "CaseloadUserObjectPermission")):
            found.append(f"{path}:{node.lineno} calls {model}...{called}()")
    return found


def sources():
    for file in sorted(ROOT.rglob("*.py")):
        relative = file.relative_to(ROOT)
        if not SKIPPED & set(relative.parts[:-1]):
            yield relative.as_posix(), file.read_text()


def test_only_caseloads_writes_the_permission_or_its_history_and_only_delivery_access_reads_it():
    modules = dict(sources())
    assert WRITER in modules and READER in modules and "audit/oversight/objections.py" in modules
    breaches = [b for path, text in modules.items() for b in gate_breaches(path, text)]
    assert breaches == []
    assert "assign_perm(" in modules[WRITER] and "get_objects_for_user(" in modules[READER]


@pytest.mark.parametrize("snippet", [
    "from guardian.shortcuts import assign_perm\nassign_perm('sharing.work_with_woman', p, w)",
    "import guardian.shortcuts as g\ng.remove_perm('sharing.work_with_woman', p, w)",
    "CaseloadAssignment.objects.create(released_woman=w, practitioner=p)",
    "CaseloadAssignment.objects.filter(released_woman=w).update(ended_at=now)",
    "CaseloadUserObjectPermission.objects.get_or_create(user=p, content_object=w)",
    "CaseloadAssignment(released_woman=w).save()",
    "current = CaseloadAssignment.objects.select_for_update().filter(x=1)\nended = current.update(ended_at=now)",
    "perms = CaseloadUserObjectPermission.objects.filter(user=p)\nremoved, _ = perms.delete()",
    "from guardian.shortcuts import get_objects_for_user\nget_objects_for_user(p, 'x')",
])
def test_the_source_check_catches_a_second_gate(snippet):
    assert gate_breaches("sharing/somewhere_else.py", snippet)
    assert not gate_breaches("sharing/somewhere_else.py", "CaseloadAssignment.objects.filter(x=1).first()")

