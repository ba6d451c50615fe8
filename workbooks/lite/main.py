"""leadbook in xlwings Lite: paste this file into the editor's main.py tab.

requirements.txt (the editor's other tab) installs leadbook from PyPI; xlwings Lite then
registers every function and script imported here:

- cell functions: =LB.TIER(...), =LB.SCORES(Sources[#All], History[#All], Settings[#All]),
  =LB.BLENDED_CPL(Sources[#All]) ... (type =LB. in a cell to see them all);
- scripts, run from the xlwings Lite pane: refresh, check_inputs.

See docs/excel.md in the leadbook repository.
"""

from udfs.functions import *  # noqa: F403  (the LB.* cell functions)
from udfs.scripts import *  # noqa: F403  (the buttons)
