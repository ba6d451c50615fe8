"""leadbook's Excel face: cell functions and buttons over the leadbook core.

- :mod:`udfs.functions` — ``=LB.TIER(...)``, ``=LB.SCORES(...)``, ``=LB.ALLOCATE(...)``…
  (``@func``);
- :mod:`udfs.scripts` — the buttons Refresh, Check inputs, Rebalance, Refresh forecast, Plan
  hiring, Score leads and Export board pack (``@script``), and no-argument entry points for
  the classic add-in's ``RunPython``;
- :mod:`udfs.convert` — every conversion at the Excel boundary;
- :mod:`udfs.book` — runs the command line's jobs on a live workbook (xlwings Book API);
- :mod:`udfs.server` — ``leadbook serve`` (xlwings Server), with its sign-in
  (:mod:`udfs.signin`) and the checks at its edge (:mod:`udfs.edge`).

Importing this package imports nothing else: xlwings decides what its decorators do when it is
first imported, so :mod:`udfs.server` must be able to configure it first. See docs/excel.md.
"""
