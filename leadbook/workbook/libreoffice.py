"""Run LibreOffice Calc headless: recalculate a workbook, or convert it to PDF.

Each run gets a fresh private profile (so no user settings or locks leak in) that makes
Calc recalculate every formula on load, runs in its own process group, and is killed with
its children when the timeout passes. Used by the formula oracle in the tests and by the
board pack's PDF export.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from leadbook.errors import LeadbookError

log = logging.getLogger(__name__)

_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
 <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
 <prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Setup/L10N">
 <prop oor:name="ooSetupSystemLocale" oor:op="fuse"><value>en-US</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc">
 <prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


class LibreOfficeError(LeadbookError):
    """LibreOffice is missing, failed, or timed out."""


def soffice() -> str:
    """The path of the ``soffice`` program; an error says how to install it."""
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if path is None:
        raise LibreOfficeError(
            "LibreOffice is not installed; on Debian: apt-get install libreoffice-calc-nogui"
        )
    return path


def convert(source: Path, fmt: str, out_dir: Path, *, timeout: float = 180.0) -> Path:
    """Open ``source`` in a fresh LibreOffice, recalculate it, save it as ``fmt``.

    ``fmt`` is a LibreOffice filter spec such as ``"xlsx"`` or ``"pdf"``. Returns the path
    of the converted file in ``out_dir``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="leadbook-lo-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_PROFILE)
        command = [
            soffice(),
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            "--convert-to",
            fmt,
            "--outdir",
            str(out_dir),
            str(source),
        ]
        env = {**os.environ, "LANG": "en_US.UTF-8", "LC_ALL": "C.UTF-8", "SAL_USE_VCLPLUGIN": "svp"}
        log.info("running %s", " ".join(command))
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise LibreOfficeError(
                f"LibreOffice did not finish converting {source.name} within {timeout:.0f} s"
            ) from None
    target = out_dir / f"{source.stem}.{fmt.split(':')[0]}"
    if proc.returncode != 0 or not target.exists():
        raise LibreOfficeError(
            f"LibreOffice could not convert {source.name} to {fmt} "
            f"(exit {proc.returncode}): {stderr.decode(errors='replace')[-500:]}"
            f"{stdout.decode(errors='replace')[-200:]}"
        )
    return target


def recalculated(source: Path, out_dir: Path, *, timeout: float = 180.0) -> Path:
    """A copy of ``source`` recalculated by LibreOffice Calc, saved as .xlsx in ``out_dir``."""
    return convert(source, "xlsx", out_dir, timeout=timeout)
