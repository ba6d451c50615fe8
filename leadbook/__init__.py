"""leadbook: lead-portfolio analytics behind a finance-owned Excel workbook.

The core (this package) is pure Python over pandas, numpy and scipy and never imports
xlwings; the Excel face lives in ``udfs``.
"""

from leadbook.errors import InfeasiblePolicyError, InputError, LeadbookError, WorkbookFileError
from leadbook.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "InfeasiblePolicyError",
    "InputError",
    "LeadbookError",
    "Settings",
    "WorkbookFileError",
    "__version__",
]
