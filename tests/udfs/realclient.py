"""``leadbook serve`` started as a user starts it, for the real-client tiers (the cell
functions' test_real_client.py and the buttons' test_real_taskpane.py), which share one
server (the ``served`` fixture in conftest.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from tests.udfs.test_server import free_port, wait_until_up

CLIENT = Path(__file__).parents[1] / "realclient"
LEADBOOK = str(Path(sys.executable).with_name("leadbook"))
NODE = shutil.which("node") or shutil.which("nodejs")
BLAS_SETTINGS = ("OPENBLAS_", "OMP_", "MKL_", "GOTO", "NVPL_")
SIGN_IN = "real-client-tier-token-0123456789abcdef"
"""The served server's shared sign-in token (sign-in is on, as shipped)."""


def start_server(**env_extra: str) -> tuple[str, subprocess.Popen]:
    """``leadbook serve`` on a free port, with nothing in its environment but the licence
    key, the sign-in token, the suite's files folder and the machine's BLAS settings (and
    ``env_extra``)."""
    port = free_port()
    kept = ("PATH", "HOME", "PYTHONPATH", "LEADBOOK_FILES")  # the suite's files folder
    env = {k: os.environ[k] for k in kept if k in os.environ}
    # The machine's BLAS settings too: the kernel OpenBLAS picks (OPENBLAS_CORETYPE) changes
    # a forecast's fit in its 7th digit, and the buttons' tier compares the server's numbers
    # with the command line's run in this process.
    env |= {k: v for k, v in os.environ.items() if k.startswith(BLAS_SETTINGS)}
    env |= {"XLWINGS_LICENSE_KEY": "noncommercial", "LEADBOOK_TOKEN": SIGN_IN, **env_extra}
    proc = subprocess.Popen(
        [LEADBOOK, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/", proc)
    return base, proc


def stop_server(proc: subprocess.Popen) -> str:
    os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return out.decode(errors="replace")
