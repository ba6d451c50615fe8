"""The Python inside xlwings Lite, for the tests: Pyodide 0.27.5's own lock file, the
pure-Python wheels micropip would fetch from PyPI, and micropip's way of choosing between them.

xlwings Lite installs the lines of its requirements.txt tab with micropip 0.8.0, the version in
Pyodide 0.27.5's lock. For each requirement, micropip 0.8.0 (``Transaction.add_requirement_inner``
in ``micropip/transaction.py``) first asks whether the package is installed already or chosen
earlier in the same install (``check_version_satisfied``: a version that does not satisfy the
requirement is an error, "Requested …, but … is already installed"); then, with the default
index, it looks in Pyodide's lock (``_add_requirement_from_pyodide_lock``: the name at a
version the specifier contains) and only otherwise asks PyPI
(``_add_requirement_from_package_index`` and ``find_wheel``: the newest version the specifier
allows that has a pure-Python wheel). A lock package at a version outside the specifier is
therefore fetched from PyPI as well, beside the lock's own copy when another requirement was
met by the lock (``install`` loads both), and fails outright when the package is compiled.

:func:`resolve` follows those rules, more strictly where micropip's outcome depends on timing
or on what PyPI publishes next: every requirement on a package Pyodide ships must be met by
Pyodide's version; every other package must be pinned (``name==version``) in the requirements
and its wheel must be pure Python, for the Python of the lock, with requirements that resolve
in turn. It collects every problem, in words.

``python tests/pyodide_env.py`` (``./dev test`` runs it) fetches what the tests read into
``.cache/pyodide-0.27.5/``: the lock from the ``pyodide`` npm package (``npm pack``, which
checks the registry's integrity hash; the lock's own sha256 is checked here too) and the
pinned wheels from PyPI (``pip download``, pure-Python wheels only). Only what is missing is
fetched. The tests never download: a missing file fails them with the command to run.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

PYODIDE = "0.27.5"
LOCK_SHA256 = "be1807745da93daa09d360b109c17a0e526e74d664d1f1b9870aafcce98ce426"
ROOT = Path(__file__).parent.parent
CACHE = ROOT / ".cache" / f"pyodide-{PYODIDE}"
LOCK_FILE = CACHE / "pyodide-lock.json"
WHEELS = CACHE / "wheels"
LITE_REQUIREMENTS = ROOT / "workbooks" / "lite" / "requirements.txt"
FETCH = "./dev test (or: .venv/bin/python tests/pyodide_env.py)"


@dataclass(frozen=True)
class LockPackage:
    """One package of Pyodide's lock; ``pure`` when its wheel is py3-none-any.

    ``version`` stays text: a few lock entries (openssl's ``1.1.1w``) are not PEP 440 versions.
    """

    name: str
    version: str
    depends: tuple[str, ...]
    pure: bool


@dataclass(frozen=True)
class Lock:
    """Pyodide's ``pyodide-lock.json``: its Python, platform and packages by canonical name."""

    pyodide: str
    python: str
    platform: str
    packages: Mapping[str, LockPackage]

    def environment(self) -> dict[str, str]:
        """The PEP 508 marker values inside this Pyodide (``extra`` not included)."""
        emscripten = self.platform.removeprefix("emscripten_").replace("_", ".")
        return {
            "implementation_name": "cpython",
            "implementation_version": self.python,
            "os_name": "posix",
            "platform_machine": "wasm32",
            "platform_python_implementation": "CPython",
            "platform_release": emscripten,
            "platform_system": "Emscripten",
            "platform_version": "#1",
            "python_full_version": self.python,
            "python_version": ".".join(self.python.split(".")[:2]),
            "sys_platform": "emscripten",
        }


@dataclass(frozen=True)
class Wheel:
    """What micropip reads of a wheel: its name, version, tags and requirements."""

    name: str
    version: Version
    pure: bool
    requires: tuple[Requirement, ...] = ()
    requires_python: SpecifierSet = field(default_factory=SpecifierSet)

    @classmethod
    def from_file(cls, path: Path) -> Wheel:
        """Read a wheel's file name and ``METADATA``."""
        name, version, _, tags = parse_wheel_filename(path.name)
        with zipfile.ZipFile(path) as zf:
            meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            message = message_from_bytes(zf.read(meta))
        return cls(
            name=name,
            version=version,
            pure=all(t.abi == "none" and t.platform == "any" for t in tags),
            requires=tuple(Requirement(r) for r in message.get_all("Requires-Dist") or ()),
            requires_python=SpecifierSet(message.get("Requires-Python") or ""),
        )


@dataclass
class Resolution:
    """Where each package would come from, and every reason the install would go wrong."""

    from_lock: dict[str, LockPackage] = field(default_factory=dict)
    from_pypi: dict[str, Wheel] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_lock(path: Path = LOCK_FILE, sha256: str = LOCK_SHA256) -> Lock:
    """Pyodide's lock file, refused unless it is byte for byte the one this module names."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the Lite checks read Pyodide {PYODIDE}'s own lock file "
            f"(npm pack pyodide@{PYODIDE}, package/pyodide-lock.json). Fetch it with {FETCH}."
        )
    data = path.read_bytes()
    if (digest := hashlib.sha256(data).hexdigest()) != sha256:
        raise ValueError(
            f"{path} has sha256 {digest}, not {sha256} (Pyodide {PYODIDE}'s lock): "
            f"delete it and fetch it again with {FETCH}"
        )
    lock = json.loads(data)
    packages = {
        canonicalize_name(key): LockPackage(
            name=canonicalize_name(key),
            version=entry["version"],
            depends=tuple(entry["depends"]),
            pure=entry["file_name"].endswith("-none-any.whl"),
        )
        for key, entry in lock["packages"].items()
    }
    info = lock["info"]
    return Lock(info["version"], info["python"], info["platform"], packages)


def read_requirements(path: Path = LITE_REQUIREMENTS) -> list[Requirement]:
    """The requirement lines of a requirements.txt as xlwings Lite reads them.

    Comments and blank lines are skipped. Options (``-r``, ``--index-url``) and wheel URLs are
    refused: the checks here pin packages by name.
    """
    requirements = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-") or "://" in line or line.endswith(".whl"):
            raise ValueError(
                f"{path.name} line {number}: {line!r} is an option or a wheel URL; "
                "the Lite checks read package names with pinned versions (name==version)"
            )
        requirements.append(Requirement(line))
    return requirements


def pins(requirements: Iterable[Requirement]) -> dict[str, Version]:
    """The requirements that pin one exact version (``name==version``), by canonical name."""
    pinned = {}
    for requirement in requirements:
        (spec, *more) = list(requirement.specifier) or [None]
        if spec is not None and not more and spec.operator == "==" and "*" not in spec.version:
            pinned[canonicalize_name(requirement.name)] = Version(spec.version)
    return pinned


def wheels_to_fetch(requirements: Iterable[Requirement], lock: Lock) -> dict[str, Version]:
    """The pins micropip would take from PyPI: not met by the lock, not this project."""
    own = canonicalize_name(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"])
    return {
        name: version
        for name, version in pins(requirements).items()
        if name != own
        and not (name in lock.packages and lock.packages[name].version == str(version))
    }


def cached_wheels(
    requirements: Iterable[Requirement],
    lock: Lock,
    built: Iterable[Wheel] = (),
    folder: Path = WHEELS,
) -> dict[str, Wheel]:
    """The pinned wheels from ``folder`` (and ``built``, this project's own), by name.

    Raises FileNotFoundError naming every pinned wheel that is not there.
    """
    requirements = list(requirements)
    found = {w.name: w for w in built}
    on_disk = {}
    for path in folder.glob("*.whl") if folder.is_dir() else ():
        name, version, _, _ = parse_wheel_filename(path.name)
        on_disk[(name, version)] = path
    missing = []
    for name, version in wheels_to_fetch(requirements, lock).items():
        if (path := on_disk.get((name, version))) is not None:
            found[name] = Wheel.from_file(path)
        else:
            missing.append(f"{name}=={version}")
    if missing:
        raise FileNotFoundError(
            f"no pure-Python wheel in {folder} for {', '.join(missing)}; fetch them with {FETCH}"
        )
    return found


def resolve(
    requirements: Iterable[Requirement], lock: Lock, wheels: Mapping[str, Wheel]
) -> Resolution:
    """Resolve ``requirements`` as micropip 0.8.0 would in ``lock``'s Pyodide.

    ``wheels`` holds the pinned wheels micropip would fetch from PyPI, by canonical name.

    Examples
    --------
    >>> lock = Lock("0.27.5", "3.12.7", "emscripten_3_1_58",
    ...             {"rich": LockPackage("rich", Version("13.7.1"), (), pure=True)})
    >>> typer = Wheel("typer", Version("0.29.2"), True, (Requirement("rich>=13.8.0"),))
    >>> print(*resolve([Requirement("typer==0.29.2")], lock, {"typer": typer}).problems)
    typer 0.29.2 needs rich>=13.8.0, but Pyodide 0.27.5 ships rich 13.7.1: micropip would
    fetch another rich from PyPI, beside Pyodide's own when something else asks for rich too
    """
    environment = lock.environment()
    resolution = Resolution()
    queue = deque((r, "requirements.txt", frozenset[str]()) for r in requirements)
    while queue:
        requirement, wanted_by, extras = queue.popleft()
        if requirement.marker is not None and not any(
            requirement.marker.evaluate(environment | {"extra": e}) for e in {"", *extras}
        ):
            continue
        name = canonicalize_name(requirement.name)
        if name in lock.packages:
            _take_from_lock(requirement, wanted_by, lock, resolution)
        elif (wheel := wheels.get(name)) is None:
            resolution.problems.append(
                f"{wanted_by} needs {requirement}, which Pyodide {lock.pyodide} does not ship "
                f"and {LITE_REQUIREMENTS.name} does not pin: micropip would take whatever "
                "version PyPI has newest on the day"
            )
        elif not requirement.specifier.contains(wheel.version, prereleases=True):
            resolution.problems.append(
                f"{wanted_by} needs {requirement}, but {LITE_REQUIREMENTS.name} pins "
                f"{name}=={wheel.version}: micropip refuses it as already installed"
            )
        elif name not in resolution.from_pypi:
            resolution.from_pypi[name] = wheel
            resolution.problems.extend(_wheel_problems(wheel, lock))
            by = f"{wheel.name} {wheel.version}"
            queue.extend((r, by, frozenset(requirement.extras)) for r in wheel.requires)
    return resolution


def _take_from_lock(
    requirement: Requirement, wanted_by: str, lock: Lock, resolution: Resolution
) -> None:
    package = lock.packages[canonicalize_name(requirement.name)]
    if not _contains(requirement.specifier, package.version):
        consequence = (
            f"fetch another {package.name} from PyPI, beside Pyodide's own when something "
            f"else asks for {package.name} too"
            if package.pure
            else f"find no wheel of {package.name} it can install ({package.name} is compiled)"
        )
        resolution.problems.append(
            f"{wanted_by} needs {requirement}, but Pyodide {lock.pyodide} ships "
            f"{package.name} {package.version}: micropip would {consequence}"
        )
    else:
        _load(package, lock, resolution)


def _load(package: LockPackage, lock: Lock, resolution: Resolution) -> None:
    """Pyodide's ``loadPackage``: the package and, by name, every package it depends on."""
    if package.name not in resolution.from_lock:
        resolution.from_lock[package.name] = package
        for name in package.depends:
            _load(lock.packages[canonicalize_name(name)], lock, resolution)


def _contains(specifier: SpecifierSet, version: str) -> bool:
    try:
        return specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return not specifier


def _wheel_problems(wheel: Wheel, lock: Lock) -> list[str]:
    problems = []
    if not wheel.pure:
        problems.append(f"{wheel.name} {wheel.version} is not a pure-Python wheel")
    if not wheel.requires_python.contains(lock.python, prereleases=True):
        problems.append(
            f"{wheel.name} {wheel.version} needs Python {wheel.requires_python}, but Pyodide "
            f"{lock.pyodide} runs Python {lock.python}"
        )
    return problems


def fetch_lock(path: Path = LOCK_FILE) -> None:
    """Take ``pyodide-lock.json`` out of the ``pyodide`` npm package into ``path``."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", f"pyodide@{PYODIDE}", "--pack-destination", tmp, "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (tarball,) = Path(tmp).glob("pyodide-*.tgz")
        with tarfile.open(tarball) as tar:
            member = tar.extractfile("package/pyodide-lock.json")
            assert member is not None
            data = member.read()
    if (digest := hashlib.sha256(data).hexdigest()) != LOCK_SHA256:
        raise ValueError(f"pyodide@{PYODIDE}'s lock has sha256 {digest}, not {LOCK_SHA256}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def fetch_wheels(wanted: Mapping[str, Version], lock: Lock, folder: Path = WHEELS) -> None:
    """Download the pure-Python wheel of each ``name==version`` micropip would take."""
    python = lock.environment()["python_version"]
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--platform",
            "any",
            "--implementation",
            "py",
            "--abi",
            "none",
            "--python-version",
            python,
            "--dest",
            str(folder),
            *(f"{name}=={version}" for name, version in wanted.items()),
        ],
        check=True,
    )


def fetch() -> None:
    """Bring the lock and the pinned wheels into ``.cache``; fetch only what is missing."""
    try:
        lock = read_lock()
    except (FileNotFoundError, ValueError):
        fetch_lock()
        lock = read_lock()
    requirements = read_requirements()
    try:
        cached_wheels(requirements, lock)
    except FileNotFoundError:
        on_disk = {parse_wheel_filename(p.name)[:2] for p in WHEELS.glob("*.whl")}
        wanted = wheels_to_fetch(requirements, lock)
        fetch_wheels({n: v for n, v in wanted.items() if (n, v) not in on_disk}, lock)


if __name__ == "__main__":
    fetch()
