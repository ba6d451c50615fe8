"""The Excel face's fixtures: xlwings Server in-process, and the demo workbook as Excel sends it.

xlwings fixes what its decorators do when it is first imported, so this module puts the
suite in server mode (``XLWINGS_ON_SERVER=true``) before anything imports xlwings — unless
``LEADBOOK_XLWINGS=plain`` asks for plain Python (no-op decorators, see test_plain_mode.py).
The suite uses xlwings' noncommercial licence key.
"""

from __future__ import annotations

import os
import sys

import pytest

PLAIN = os.environ.get("LEADBOOK_XLWINGS") == "plain"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
# In-process server tests compute in a thread (monkeypatches reach the code); the compute
# processes are tested on their own (test_server.py) and by the real server.
os.environ.setdefault("LEADBOOK_COMPUTE_WORKERS", "0")
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
    from xlwings_server.main import main_app

    return TestClient(main_app, raise_server_exceptions=False)
