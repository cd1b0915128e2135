"""The import contracts of `.importlinter` hold: graph -> domain -> persistence with no way back, and no
import cycle inside domain (function-level imports included). `make lint` runs them too; this test
keeps them in CI, which runs `make test`."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Contracts: 2 kept, 0 broken." in run.stdout, run.stdout


def test_a_cycle_hidden_in_a_function_breaks_the_contract(tmp_path):
    """The contract sees a function-level import: a copy of the rule over a two-module package whose
    cycle is one such import is broken."""
    package = tmp_path / "knot"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from knot import b\n")
    (package / "b.py").write_text("def f():\n    from knot import a\n")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_packages =\n    knot\n\n"
        "[importlinter:contract:acyclic]\nname = no cycle\ntype = acyclic_siblings\nancestors =\n    knot\n"
    )
    lint_imports = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )
    assert run.returncode == 1 and "BROKEN" in run.stdout, run.stdout + run.stderr
