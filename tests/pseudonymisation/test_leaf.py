"""pseudonymisation is a leaf: it imports no other app of ours and knows no roles."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "pseudonymisation"
OURS = {"sharing", "audit", "eligibility", "pause_portal", "tests"}


def test_pseudonymisation_imports_no_other_app_of_ours():
    offenders = []
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in OURS]
    assert offenders == []


def _code_words(tree) -> list[str]:
    """Identifiers and string values, leaving out docstrings (which may explain the design)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
        and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    words = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.append(node.id)
        elif isinstance(node, ast.Attribute):
            words.append(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words.append(node.value)
    return words


def test_pseudonymisation_knows_no_roles():
    for path in APP.rglob("*.py"):
        words = " ".join(_code_words(ast.parse(path.read_text()))).lower()
        for role_word in ("caseworker", "practitioner", "caldicott", "dpo", "pause_lead", "trust_lead", "role"):
            assert role_word not in words, (path.name, role_word)
