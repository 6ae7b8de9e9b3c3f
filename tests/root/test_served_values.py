"""Disclosure by construction (issue 20, point 1), proved:

- `disclose()` returns served values: exactly the fields the viewer may see now, encrypted ones
  decrypted (checked against an independent decryption with the key), nothing else readable;
- no view, form or template tag decrypts: the import contract forbids it (and is shown to catch a
  violation), every such module is named in it, and none refers to a decrypting name;
- every disclosure entry is written in `eligibility.disclosure` (an ast scan of every module);
- (the presenter's own tests: tests/pause_portal/test_presenting.py).
"""

from __future__ import annotations

import ast
import fnmatch
import pkgutil
import tomllib
from pathlib import Path

import pytest

from audit.core.models import AuditEntry, Event
from eligibility.disclosure import Served, disclose
from eligibility.models import Woman
from pseudonymisation.fields import Protector
from sharing.disclosure import delivery_fields
from sharing.models_delivery import Participation, ReleasedWoman
from tests.sharing.delivery.world import delivery_world

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
FORBIDDEN = next(c for c in CONTRACTS if c["id"] == "no-decryption-in-pages")
PACKAGES = ("pause_portal", "audit", "sharing", "eligibility")
DECRYPTING_NAMES = {"Protector", "FieldCipher", "Keyring", "reveal", "decrypt", "reason_of", "protector_for"}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for package in PACKAGES:
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if ".migrations" in info.name or ".management" in info.name:
                continue
            base = ROOT.joinpath(*info.name.split("."))
            path = base / "__init__.py" if info.ispkg else base.with_suffix(".py")
            out.append((info.name, path))
    return out


def _is_page_module(name: str) -> bool:
    """A view, form or template tag module: named views*/forms*, or inside a views or templatetags
    package."""
    parts = name.split(".")
    return (parts[-1].startswith(("views", "forms")) or "views" in parts[:-1] or "templatetags" in parts[:-1]) \
        and parts[-1] != "__init__"


PAGE_MODULES = [(n, p) for n, p in _modules() if _is_page_module(n)]


def test_every_view_form_and_template_tag_module_is_in_the_forbidden_contract():
    assert len(PAGE_MODULES) > 40
    unlisted = [n for n, _ in PAGE_MODULES
                if not any(fnmatch.fnmatchcase(n, pattern) for pattern in FORBIDDEN["source_modules"])]
    assert unlisted == []
    assert {"pseudonymisation.fields", "pseudonymisation.encryption", "pseudonymisation.keys"} <= set(
        FORBIDDEN["forbidden_modules"])


def test_the_forbidden_contract_catches_a_page_that_imports_the_protector():
    """import-linter's own contract, run on the real graph with one import added, is broken (so
    the kept contract in CI means something)."""
    import grimp
    from importlinter import configuration
    from importlinter.contracts.forbidden import ForbiddenContract

    configuration.configure()

    graph = grimp.build_graph(*PACKAGES, "pseudonymisation")
    options = {k: v if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else v
               for k, v in FORBIDDEN.items() if k not in ("id", "name", "type")}
    contract = ForbiddenContract(name="test", session_options={"root_packages": [*PACKAGES, "pseudonymisation"]},
                                 contract_options=options)
    assert contract.check(graph, verbose=False).kept
    graph.add_import(importer="sharing.views.delivery_pause", imported="pseudonymisation.fields",
                     line_number=1, line_contents="from pseudonymisation.fields import Protector")
    assert not contract.check(graph, verbose=False).kept


def _names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[-1])
    return names


def test_no_view_form_or_template_tag_refers_to_a_decrypting_name():
    found = {n: sorted(_names(p) & DECRYPTING_NAMES) for n, p in PAGE_MODULES}
    assert {n: v for n, v in found.items() if v} == {}


def test_every_disclosure_entry_is_written_in_the_disclosure_module():
    """No module but eligibility.disclosure names Event.DISCLOSURE in a call: aggregate reports,
    certificates, incident lists, confirmations and pack downloads go through record_disclosure."""
    writers = []
    for name, path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "record_event"
                    and node.args and isinstance(node.args[0], ast.Attribute) and node.args[0].attr == "DISCLOSURE"):
                writers.append(name)
    assert set(writers) == {"eligibility.disclosure"}


# --- served values ------------------------------------------------------------------------------
@pytest.fixture
def world(db):
    w = delivery_world(women=2)
    w.assign(w.released[0], w.practitioners[0])
    return w


def _plain(record, name: str) -> str | None:
    """An independent decryption: the field's ciphertext opened with the programme's key."""
    return record.reveal(Protector.load(record.programme_id, record.key_phase, create=False), name)


def test_a_practitioner_is_served_exactly_the_delivery_fields_of_her_caseload(world):
    shown = disclose(world.practitioners[0], world.released, page="/test/")
    assert [r.pk for r in shown.records] == [world.released[0].pk] and shown.withheld == 1
    [her] = shown
    assert isinstance(her, Served) and her.fields == delivery_fields(world.programme.pk)[ReleasedWoman]
    released = world.released[0]
    woman = released.woman
    assert her.forename == _plain(woman, "forename") and her["surname"] == _plain(woman, "surname")
    assert her.date_of_birth == _plain(woman, "date_of_birth")
    assert her.address == _plain(released, "address")
    assert her.trust_contact == world.trust_lead
    assert her.get_participation_display() == Participation(released.participation).label
    for withheld in ("nhs_number", "trust_person_id", "woman", "withdrawn_by", "row_uid"):
        assert withheld not in her
        with pytest.raises(AttributeError):
            getattr(her, withheld)
        with pytest.raises(KeyError):
            her[withheld]
        assert her.get(withheld) is None


def test_served_values_give_no_way_back_to_the_record(world):
    [her] = disclose(world.practitioners[0], world.released[:1], page="/test/")
    for private in ("_record", "_read", "_cache", "_model"):
        assert private in Served.__slots__
    from django.template import Context, Template, TemplateSyntaxError

    with pytest.raises(TemplateSyntaxError):  # a template cannot reach past the served values
        Template("{{ w._record.woman.nhs_number }}")
    page = Template("[{{ w.nhs_number }}|{{ w.woman.nhs_number }}|{{ w.forename }}]").render(Context({"w": her}))
    assert page == f"[||{_plain(world.released[0].woman, 'forename')}]"


def test_the_trust_lead_is_served_her_record_in_full_and_one_entry_names_what_was_served(world):
    women = [r.woman for r in world.released]
    before = AuditEntry.objects.filter(event=Event.DISCLOSURE).count()
    shown = disclose(world.trust_lead, women, page="/test/")
    assert AuditEntry.objects.filter(event=Event.DISCLOSURE).count() == before + 1
    for woman, served in shown.pairs():
        assert served.pk == woman.pk and served.label == "eligibility.woman"
        assert served.trust_person_id == _plain(woman, "trust_person_id")
        assert served.nhs_number == _plain(woman, "nhs_number")
    assert {s.subject for s in shown.entry.subjects.all()} == {f"eligibility.woman:{w.pk}" for w in women}


def test_nobody_outside_the_policy_is_served_anything(world):
    for person in (world.caldicott, world.practitioners[1]):
        shown = disclose(person, [world.released[0], world.released[0].woman], page="/test/")
        assert list(shown) == [] and shown.records == []


def test_a_destroyed_or_missing_key_is_never_recreated_by_serving(world):
    """Served values are read with the programme's existing keys only (create=False)."""
    from pseudonymisation.errors import KeyUnavailable

    [her] = disclose(world.trust_lead, [world.released[0].woman], page="/test/")
    other = Woman.objects.get(pk=world.released[0].woman_id)
    other.programme_id = 10**9  # a programme with no key at all
    served = Served(other, her.fields, her._read)
    with pytest.raises(KeyUnavailable):
        served.forename
    from pseudonymisation.models import DataKey

    assert not DataKey.objects.filter(programme_id=10**9).exists()


def test_a_rights_request_is_served_in_full_to_the_dpo_and_what_it_asks_to_the_trusts_rectifiers(db):
    from audit.core.models_rights import RightsRequest
    from audit.oversight import rights
    from eligibility.disclosure import RECTIFIER_FIELDS
    from pause_portal.classification import classification_of
    from tests.audit.oversight.test_rights_world import rights_world

    w = rights_world(women=1)
    rr = w.request("rectification")
    [full] = disclose(w.dpo, [rr], page="/t")
    assert full.fields == frozenset(classification_of(RightsRequest))
    assert full.identity_check == _plain(rr, "identity_check") == "Passport and a council tax bill seen in person"
    [part] = disclose(w.caseworker, [rr], page="/t")
    assert part.fields == RECTIFIER_FIELDS and part.details == _plain(rr, "details") == "Synthetic request"
    assert "identity_check" not in part and "outcome_note" not in part
    for person in (w.delivery.pause_lead, w.delivery.practitioners[0], w.caldicott):
        assert list(disclose(person, [rr], page="/t")) == []
    rights.close(rr, status="refused", note="Manifestly unfounded (synthetic)", by=w.dpo)
    rr.refresh_from_db()
    assert list(disclose(w.caseworker, [rr], page="/t")) == []  # only while it is open
    assert [s.pk for s in disclose(w.dpo, [rr], page="/t")] == [rr.pk]  # the register keeps it
    access = w.request("access")
    assert list(disclose(w.caseworker, [access], page="/t")) == []  # not a rectification
