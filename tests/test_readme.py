"""README's layout section is the map of src/shipyard: it must list every module and name
none that is gone."""

from __future__ import annotations

import re

from tests.helpers import ROOT


def layout_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


def test_layout_lists_every_module_and_package():
    block = layout_block()
    src = ROOT / "src" / "shipyard"
    named = set(re.findall(r"[\w]+\.py", block))
    modules = {p.name for p in src.rglob("*.py") if p.name != "__init__.py"}
    assert modules - named == set(), "modules missing from README's layout"
    assert named - modules - {"helpers.py", "workflow_runner.py"} == set(), "gone modules"
    packages = {p.parent.name for p in src.glob("*/__init__.py")}
    assert {p for p in packages if f"{p}/" not in block} == set()
