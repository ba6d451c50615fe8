"""The Excel face's fixtures: xlwings Server in-process, and the demo workbook as Excel sends it.

xlwings fixes what its decorators do when it is first imported, so this module puts the
suite in server mode (``XLWINGS_ON_SERVER=true``) before anything imports xlwings — unless
``LEADBOOK_XLWINGS=plain`` asks for plain Python (no-op decorators, see test_plain_mode.py).
The suite uses xlwings' noncommercial licence key.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

import pytest

PLAIN = os.environ.get("LEADBOOK_XLWINGS") == "plain"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
# In-process server tests compute in a thread (monkeypatches reach the code); the compute
# processes are tested on their own (test_server.py) and by the real server.
os.environ.setdefault("LEADBOOK_COMPUTE_WORKERS", "0")
TOKEN = "test-token-of-leadbooks-suite-0123456789"
"""The shared sign-in token of the in-process server (sign-in is on, as shipped)."""
os.environ.setdefault("LEADBOOK_TOKEN", TOKEN)
# The buttons keep an Office.js workbook's files under LEADBOOK_FILES (default ~/leadbook):
# the suite's go to a folder of its own, never to the home of whoever runs it.
if "LEADBOOK_FILES" not in os.environ:
    os.environ["LEADBOOK_FILES"] = tempfile.mkdtemp(prefix="leadbook-files-")
    atexit.register(shutil.rmtree, os.environ["LEADBOOK_FILES"], ignore_errors=True)
if not PLAIN:
    if "xlwings" in sys.modules and os.environ.get("XLWINGS_ON_SERVER") != "true":
        raise RuntimeError("xlwings was imported before tests/udfs could switch on server mode")
    from udfs.server import configure

    configure()


@pytest.fixture(scope="session")
def client():
    """xlwings Server's app with leadbook's functions and scripts, called in-process."""
    if PLAIN:
        pytest.fail("the server tests need server mode; unset LEADBOOK_XLWINGS")
    from fastapi.testclient import TestClient

    from udfs.server import app

    return TestClient(
        app(),
        raise_server_exceptions=False,
        headers={"Authorization": os.environ["LEADBOOK_TOKEN"]},
    )


@pytest.fixture(scope="session")
def scored_demo(tmp_path_factory):
    """The demo workbook as ``leadbook demo`` leaves it (its leads scored, the lead model
    beside it), written once: tests copy it (:func:`copy_book`)."""
    from leadbook.workbook.jobs.leads import score_leads
    from leadbook.workbook.jobs.refresh import demo

    path, _ = demo(tmp_path_factory.mktemp("scored") / "demo.xlsx")
    score_leads(path, retrain=True)
    return path


@pytest.fixture(scope="session")
def calculated_demo(scored_demo, tmp_path_factory):
    """The scored demo workbook as Excel saves it: every formula with its value (LibreOffice
    calculated them), so a button sees what it would see in Excel."""
    from leadbook.workbook.libreoffice import recalculated

    return recalculated(scored_demo, tmp_path_factory.mktemp("calculated"))


def copy_book(path, folder):
    """A copy of the workbook at ``path`` in ``folder``, under the same name, with the
    folders leadbook keeps beside it (the lead model)."""
    import shutil

    from leadbook.leads.store import model_dir

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    shutil.copy(path, target)
    if model_dir(path).is_dir():
        shutil.copytree(model_dir(path), model_dir(target))
    return target


@pytest.fixture
def demo_book_path(scored_demo, tmp_path):
    """A fresh copy of the (scored) demo workbook; replaces the suite's own fixture here,
    which would build the demo again for every test."""
    return copy_book(scored_demo, tmp_path / "book")


@pytest.fixture(scope="session")
def served(scored_demo):
    """``leadbook serve`` as a user starts it, for the real-client tiers (its workbook folder
    the demo's, its files folder the suite's); its URL."""
    from tests.udfs.realclient import NODE, start_server, stop_server

    if NODE is None:
        pytest.fail("the real-client tier needs Node.js (./dev test installs Debian's nodejs)")
    base, proc = start_server(LEADBOOK_WORKBOOKS=str(scored_demo.parent))
    yield base
    stop_server(proc)
