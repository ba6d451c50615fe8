"""leadbook installs inside xlwings Lite: a pure-Python wheel whose every runtime dependency
is one Pyodide ships or a pure-Python wheel; and the core never imports xlwings."""

from __future__ import annotations

import email
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parent.parent

# Packages (and versions) shipped with Pyodide 0.27.5 — the release xlwings Server 1.20's
# Wasm runtime loads (pyodide.js v0.27.5) — read from that release's pyodide-lock.json.
# leadbook relies on these coming from Pyodide, not from PyPI (they are compiled).
PYODIDE_0_27_5 = {
    "numpy": "2.0.2",
    "pandas": "2.2.3",
    "scipy": "1.14.1",
    "statsmodels": "0.14.4",
    "scikit-learn": "1.6.1",
    "python-dateutil": "2.9.0.post0",
    "pytz": "2024.1",
    "six": "1.16.0",
    "tzdata": "2024.1",
    "patsy": "0.5.6",
    "packaging": "24.2",
    "joblib": "1.4.0",
    "threadpoolctl": "3.5.0",
    "typing-extensions": "4.11.0",
    "click": "8.1.7",
    "rich": "13.7.1",
    "pygments": "2.17.2",
    "pydantic": "2.10.5",
    "pydantic-core": "2.27.2",
    "annotated-types": "0.6.0",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """leadbook's wheel, built offline from this checkout."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("*.whl")
    return found


def runtime_requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        message = email.message_from_bytes(zf.read(meta))
    requirements = [Requirement(r) for r in message.get_all("Requires-Dist") or []]
    return [r for r in requirements if r.marker is None]


class TestWheel:
    def test_is_pure_python(self, wheel):
        assert wheel.name.endswith("-py3-none-any.whl")
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            info = next(n for n in names if n.endswith(".dist-info/WHEEL"))
            assert "Root-Is-Purelib: true" in zf.read(info).decode()
        assert not [n for n in names if n.endswith((".so", ".pyd", ".dylib", ".dll"))]

    def test_carries_the_excel_face_and_the_server_project(self, wheel):
        with zipfile.ZipFile(wheel) as zf:
            names = set(zf.namelist())
        for name in ("udfs/functions.py", "udfs/scripts.py", "udfs/convert.py", "udfs/book.py",
                     "udfs/server_project/custom_functions/__init__.py",
                     "udfs/server_project/custom_scripts/__init__.py",
                     "udfs/server_project/templates/taskpane.html"):  # fmt: skip
            assert name in names

    def test_xlwings_is_only_an_extra(self, wheel):
        names = {canonicalize_name(r.name) for r in runtime_requirements(wheel)}
        assert not names & {"xlwings", "xlwings-server"}

    def test_every_dependency_is_in_pyodide_or_pure_python(self, wheel):
        for requirement in runtime_requirements(wheel):
            name = canonicalize_name(requirement.name)
            if name in ("numpy", "pandas", "scipy", "statsmodels", "scikit-learn"):
                assert from_pyodide(requirement), (
                    f"{requirement} excludes Pyodide's {name} {PYODIDE_0_27_5[name]}, and "
                    f"{name} is compiled: xlwings Lite could not install leadbook"
                )
            assert_installable(requirement)


def from_pyodide(requirement: Requirement) -> bool:
    """Whether Pyodide's own build of the package satisfies ``requirement``."""
    version = PYODIDE_0_27_5.get(canonicalize_name(requirement.name))
    return version is not None and requirement.specifier.contains(version)


def assert_installable(requirement: Requirement, seen: set[str] | None = None) -> None:
    """micropip can meet ``requirement``: from Pyodide, or as a pure-Python wheel whose own
    runtime dependencies are installable too (checked on the version installed here)."""
    seen = set() if seen is None else seen
    name = canonicalize_name(requirement.name)
    if from_pyodide(requirement) or name in seen:
        return
    seen.add(name)
    dist = metadata.distribution(name)
    assert "Root-Is-Purelib: true" in (dist.read_text("WHEEL") or ""), (
        f"{requirement} is neither met by Pyodide 0.27.5 nor a pure-Python wheel"
    )
    compiled = [f for f in dist.files or () if f.suffix in (".so", ".pyd", ".dylib")]
    assert not compiled, f"{name} ships compiled code: {compiled[:3]}"
    for text in dist.requires or ():
        dependency = Requirement(text)
        if dependency.marker is None or dependency.marker.evaluate({"extra": ""}):
            assert_installable(dependency, seen)


def test_importing_the_core_does_not_import_xlwings():
    code = (
        "import sys, leadbook, leadbook.cli, leadbook.workbook.jobs, leadbook.classify, "
        "leadbook.scoring, leadbook.demo; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('xlwings', 'udfs')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
