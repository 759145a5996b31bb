"""Packaging: cheap import, entry points, typed."""

from __future__ import annotations

import importlib.metadata
import pathlib
import subprocess
import sys

import mailwire


def run_python(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def test_import_is_lazy() -> None:
    """`import mailwire` loads neither ssl nor asyncio (ARCHITECTURE.md §1, start-up cost)."""
    out = run_python(
        "import sys, mailwire; print(sorted(m for m in ('ssl', 'asyncio', 'socket') "
        "if m in sys.modules))"
    )
    assert out.strip() == "[]"


def test_lazy_names_resolve() -> None:
    assert mailwire.TLSMode.IMPLICIT.value == "implicit"
    assert mailwire.Transcript.__name__ == "Transcript"
    assert "TLSMode" in dir(mailwire)


def test_py_typed_shipped() -> None:
    assert (pathlib.Path(mailwire.__file__).parent / "py.typed").exists()


def test_no_runtime_dependencies() -> None:
    assert not importlib.metadata.requires("mailwire") or all(
        "extra ==" in r for r in importlib.metadata.requires("mailwire") or []
    )


def test_python_m_and_console_script() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mailwire", "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.strip() == f"mailwire {mailwire.__version__}"
    entry = importlib.metadata.entry_points(group="console_scripts")["mailwire"]
    assert entry.value == "mailwire.cli:main"
