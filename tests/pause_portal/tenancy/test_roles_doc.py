from pathlib import Path

from pause_portal.tenancy.roles import ROLE_SPECS, Perm

DOC = (Path(__file__).resolve().parents[3] / "docs" / "roles.md").read_text()


def test_docs_roles_md_names_every_role_and_permission():
    for role in ROLE_SPECS:
        assert f"`{role.value}`" in DOC, role
    for perm in Perm:
        assert f"`{perm.value}`" in DOC, perm
