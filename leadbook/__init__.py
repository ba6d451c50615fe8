"""leadbook: lead-portfolio analytics behind a finance-owned Excel workbook.

The core (this package) is pure Python over pandas, numpy and scipy and never imports
xlwings; the Excel face lives in ``udfs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadbook.errors import InfeasiblePolicyError, InputError, LeadbookError, WorkbookFileError

if TYPE_CHECKING:
    from leadbook.settings import Settings

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Settings imports pandas: not before it is asked for, so that the command line can
    # set up its process before the heavy imports (leadbook.cli)
    if name == "Settings":
        from leadbook.settings import Settings

        return Settings
    raise AttributeError(f"module 'leadbook' has no attribute {name!r}")


__all__ = [
    "InfeasiblePolicyError",
    "InputError",
    "LeadbookError",
    "Settings",
    "WorkbookFileError",
    "__version__",
]
