from pathlib import Path

from pause_portal.tenancy.roles import ROLE_SPECS, Perm

DOC = (Path(__file__).resolve().parents[3] / "docs" / "roles.md").read_text()


def test_docs_roles_md_names_every_role_and_permission():
    for role in ROLE_SPECS:
        assert f"`{role.value}`" in DOC, role
    for perm in Perm:
        assert f"`{perm.value}`" in DOC, perm


def test_each_roles_listed_permissions_are_exactly_its_spec():
    for role, spec in ROLE_SPECS.items():
        section = DOC[DOC.index(f"(`{role.value}`)"):]
        line = section[section.index("- Permissions: "):].split("\n", 1)[0]
        listed = {name.strip("` ") for name in line.removeprefix("- Permissions: ").split(",")}
        assert listed == {p.value for p in spec.permissions}, role


def test_each_permission_is_listed_with_its_label():
    for perm in Perm:
        assert f"- `{perm.value}` — {perm.label}\n" in DOC, perm
