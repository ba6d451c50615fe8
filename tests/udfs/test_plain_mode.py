"""The same functions and scripts as plain Python: xlwings' decorators inactive, as on Linux
or macOS without xlwings Server (and as the classic add-in's import sees them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
PLAIN_TESTS = (
    f"{HERE / 'test_functions.py'}::TestAsPlainPython",
    str(HERE / "test_convert.py"),
    f"{HERE / 'test_scripts.py'}::TestRefresh::test_a_failed_script_queues_no_action",
    f"{HERE / 'test_scripts.py'}::TestRefresh::test_pressed_directly_as_plain_python",
)


def test_the_plain_python_tests_pass_with_the_decorators_inactive():
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLWINGS_")}
    env |= {"LEADBOOK_XLWINGS": "plain", "XLWINGS_LICENSE_KEY": "noncommercial"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *PLAIN_TESTS],
        env=env,
        cwd=HERE.parent.parent,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
