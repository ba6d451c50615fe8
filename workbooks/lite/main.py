"""leadbook in xlwings Lite: paste this file into the editor's main.py tab.

requirements.txt (the editor's other tab) installs leadbook from PyPI; xlwings Lite then
registers every function and script imported here:

- cell functions (=LB.<NAME>; type =LB. in a cell to see them all): BLENDED_CPL,
  BLENDED_CONVERSION, BLENDED_CPA, PORTFOLIO, TIER, LEADTYPE, RISKCLASS, CLASSES, SCORES,
  ALLOCATE, EXPLAIN, ROI, NPV_COHORT, PAYBACK, FORECAST, REPS_NEEDED, HIRING_PLAN,
  LEAD_SCORE, EXPECTED_ROI, LEAD_PRICE, BREAKEVEN_P, CLASSIFIER_METRICS, KPI, BUDGET_CURVE;
- scripts, run from the xlwings Lite pane: refresh, check_inputs, rebalance,
  compare_scenarios, refresh_forecast, plan_hiring, score_leads, score_leads_retrain,
  export_board_pack, undo.

LEAD_SCORE and the Score leads and Export board pack scripts keep files beside the workbook
(the lead model, the pack), which xlwings Lite (Python in the browser) cannot reach: use
them from the desktop add-in or leadbook serve. Every script also keeps the values it
started from, for undo, in that temporary file system: there, undo reaches back only over
the writes of the current session.

See docs/excel.md in the leadbook repository.
"""

from udfs.functions import *  # noqa: F403  (the LB.* cell functions)
from udfs.scripts import *  # noqa: F403  (the buttons)
