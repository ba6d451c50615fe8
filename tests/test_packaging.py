"""leadbook installs inside xlwings Lite: a pure-Python wheel, and the lines of
workbooks/lite/requirements.txt resolve, as micropip resolves them, against Pyodide 0.27.5's own
lock file (tests/pyodide_env.py); and the core never imports xlwings."""

from __future__ import annotations

import email
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from pyodide_env import (
    LITE_REQUIREMENTS,
    Lock,
    Resolution,
    Wheel,
    cached_wheels,
    pins,
    read_lock,
    read_requirements,
    resolve,
)

ROOT = Path(__file__).parent.parent
COMPILED = {"numpy", "pandas", "scipy", "scikit-learn", "statsmodels"}


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
                     "udfs/server_project/templates/taskpane.html",
                     "udfs/server_project/auth/leadbook/__init__.py",
                     "udfs/server_project/static/js/auth.js",
                     "udfs/server_project/static/js/sign-in.js"):  # fmt: skip
            assert name in names

    def test_xlwings_is_only_an_extra(self, wheel):
        names = {canonicalize_name(r.name) for r in runtime_requirements(wheel)}
        assert not names & {"xlwings", "xlwings-server"}


@pytest.fixture(scope="module")
def lock() -> Lock:
    """Pyodide 0.27.5's lock, fetched by ./dev test; missing, it fails the tests that need it."""
    return read_lock()


@pytest.fixture(scope="module")
def lite(wheel, lock) -> Resolution:
    """workbooks/lite/requirements.txt resolved in Pyodide, with this checkout's leadbook."""
    requirements = read_requirements()
    built = Wheel.from_file(wheel)
    return resolve(requirements, lock, cached_wheels(requirements, lock, built=[built]))


class TestLiteRequirements:
    """The lines a user pastes into xlwings Lite's requirements.txt tab."""

    def test_resolve_inside_pyodide(self, lite):
        assert lite.problems == [], "\n".join(lite.problems)

    def test_pin_the_leadbook_this_checkout_builds(self, wheel):
        assert pins(read_requirements()).get("leadbook") == Wheel.from_file(wheel).version

    def test_install_every_runtime_dependency_of_leadbook(self, wheel, lite):
        needed = {canonicalize_name(r.name) for r in runtime_requirements(wheel)}
        assert needed <= lite.from_lock.keys() | lite.from_pypi.keys()

    def test_take_compiled_packages_from_pyodide_only(self, lite):
        assert lite.from_lock.keys() >= COMPILED
        assert not [p for p in lite.from_lock.values() if p.name in COMPILED and p.pure]
        assert all(w.pure for w in lite.from_pypi.values())

    def test_run_the_xlwings_the_tests_here_run(self):
        assert pins(read_requirements()).get("xlwings") == Version(metadata.version("xlwings"))


def synthetic(name: str, version: str, *requires: str, pure=True, python="") -> Wheel:
    return Wheel(
        name, Version(version), pure, tuple(map(Requirement, requires)), SpecifierSet(python)
    )


class TestResolve:
    @pytest.mark.parametrize(
        ("line", "wheels", "message"),
        [
            (  # today's typer with Pyodide 0.27.5's rich: the reason typer is pinned
                "typer==0.29.2",
                [synthetic("typer", "0.29.2", "rich>=13.8.0")],
                r"typer 0\.29\.2 needs rich>=13\.8\.0, but Pyodide 0\.27\.5 ships rich 13\.7\.1: "
                r"micropip would fetch another rich from PyPI, beside Pyodide's own",
            ),
            (
                "prettytable==3.19.0",
                [synthetic("prettytable", "3.19.0", "wcwidth>=0.3.5")],
                r"prettytable 3\.19\.0 needs wcwidth>=0\.3\.5, but Pyodide 0\.27\.5 ships wcwidth",
            ),
            (
                "numpy>=2.1",
                [],
                r"requirements\.txt needs numpy>=2\.1, but Pyodide 0\.27\.5 ships numpy 2\.0\.2: "
                r"micropip would find no wheel of numpy it can install \(numpy is compiled\)",
            ),
            (
                "openpyxl>=3.1",
                [],
                r"needs openpyxl>=3\.1, which Pyodide 0\.27\.5 does not ship and "
                r"requirements\.txt does not pin",
            ),
            (
                "skops==0.16.0",
                [synthetic("skops", "0.16.0", "prettytable>=3.9"), synthetic("prettytable", "3.8")],
                r"skops 0\.16\.0 needs prettytable>=3\.9, but requirements\.txt pins "
                r"prettytable==3\.8: micropip refuses it as already installed",
            ),
            (
                "fast==1.0",
                [synthetic("fast", "1.0", pure=False)],
                r"fast 1\.0 is not a pure-Python",
            ),
            (
                "new==1.0",
                [synthetic("new", "1.0", python=">=3.13")],
                r"new 1\.0 needs Python >=3\.13, but Pyodide 0\.27\.5 runs Python 3\.12\.7",
            ),
        ],
    )
    def test_names_what_would_go_wrong(self, lock, line, wheels, message):
        resolution = resolve([Requirement(line)], lock, {w.name: w for w in wheels})
        assert len(resolution.problems) == 1
        with pytest.raises(AssertionError, match=message):
            raise AssertionError(resolution.problems[0])

    def test_skips_requirements_for_other_platforms(self, lock):
        xlwings = synthetic(
            "xlwings", "0.37.8", 'pywin32>=224; platform_system == "Windows"',
            'appscript>=1.0.1; platform_system == "Darwin"', "black; extra == 'all'",
        )  # fmt: skip
        resolution = resolve([Requirement("xlwings==0.37.8")], lock, {"xlwings": xlwings})
        assert (resolution.problems, list(resolution.from_pypi)) == ([], ["xlwings"])

    def test_follows_requested_extras(self, lock):
        skops = synthetic("skops", "0.16.0", "rich>=12; extra == 'rich'")
        resolution = resolve([Requirement("skops[rich]==0.16.0")], lock, {"skops": skops})
        assert "rich" in resolution.from_lock

    def test_loads_what_pyodide_packages_depend_on(self, lock):
        resolution = resolve([Requirement("pandas")], lock, {})
        assert resolution.from_lock.keys() >= {"pandas", "numpy", "python-dateutil", "pytz"}


class TestReadLock:
    def test_missing_lock_says_how_to_fetch_it(self, tmp_path):
        with pytest.raises(FileNotFoundError, match=r"npm pack pyodide@0\.27\.5.*\./dev test"):
            read_lock(tmp_path / "pyodide-lock.json")

    def test_refuses_another_file(self, tmp_path):
        other = tmp_path / "pyodide-lock.json"
        other.write_text("{}")
        with pytest.raises(ValueError, match=r"has sha256 44136fa.*delete it and fetch it again"):
            read_lock(other)


class TestReadRequirements:
    @pytest.mark.parametrize(
        "line",
        ["--index-url https://example.org/simple", "https://example.org/x-1-py3-none-any.whl"],
    )
    def test_refuses_options_and_urls(self, tmp_path, line):
        path = tmp_path / "requirements.txt"
        path.write_text(f"# a comment\nleadbook==0.1.0  # ours\n\n{line}\n")
        with pytest.raises(ValueError, match=r"requirements\.txt line 4: .* pinned versions"):
            read_requirements(path)

    def test_reads_the_lite_file(self):
        assert "leadbook" in pins(read_requirements(LITE_REQUIREMENTS))


class TestCachedWheels:
    def test_names_every_missing_wheel(self, lock, tmp_path):
        requirements = [Requirement("typer==0.22.0"), Requirement("openpyxl==3.1.5")]
        with pytest.raises(
            FileNotFoundError, match=r"for typer==0\.22\.0, openpyxl==3\.1\.5; fetch"
        ):
            cached_wheels(requirements, lock, folder=tmp_path)

    def test_needs_no_wheel_for_what_pyodide_ships(self, lock, tmp_path):
        assert cached_wheels([Requirement("rich==13.7.1")], lock, folder=tmp_path) == {}


def test_importing_the_core_does_not_import_xlwings():
    from conftest import loaded_modules

    code = (
        "import leadbook, leadbook.cli, leadbook.workbook.jobs.refresh, "
        "leadbook.portfolio.classify, leadbook.portfolio.scoring, leadbook.demo"
    )
    assert loaded_modules(code, ("xlwings", "udfs")) == []
