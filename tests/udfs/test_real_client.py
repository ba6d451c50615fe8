"""The real-client tier: ``leadbook serve`` as shipped, called by xlwings' own Excel client.

The server runs as the command starts it (a subprocess, nothing set but the licence key and
a sign-in token; tests/udfs/realclient.py), shared with the buttons' tier (test_real_taskpane.py);
the client is the JavaScript that server sends Excel (``/xlwings/custom-functions-code.js``
with the task pane's ``utils.js``), run in Node against a small mock of Office.js
(tests/realclient/). Two hosts are mocked where Excel's differ: desktop Excel sends an
empty cell as 0, Excel on the web as null. What this tier cannot see (only a live Excel can):
how Excel itself shows a result or an error on the sheet, recalculation, and the task
pane's rendering (docs/excel.md, "What is verified").
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.udfs.officejs import demo_as_calculated, serial, table_cells
from tests.udfs.realclient import CLIENT, NODE, SIGN_IN, start_server, stop_server
from tests.udfs.test_server import EXCEL_NAMES, SCRIPTS

pytestmark = pytest.mark.slow

EMPTY = {"empty": True}
HOSTS = ("desktop", "web")
WHOLE_COLUMN = 1_048_576
AMBIGUOUS = "Desktop Excel passes empty cells as 0"


def excel(
    base: str, host: str, calls: list[dict[str, Any]], sign_in: str | None = None
) -> dict[str, Any]:
    """The calls made by xlwings' client as ``host`` makes them, signed in with the token
    pasted into the task pane (``sign_in``, by default the server's); its answers."""
    done = subprocess.run(
        [NODE, str(CLIENT / "functions.mjs"), base, host],
        env={**os.environ, "LEADBOOK_SIGN_IN": SIGN_IN if sign_in is None else sign_in},
        input=json.dumps({"calls": calls}, allow_nan=False),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def answers(base: str, host: str, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return excel(base, host, calls)["answers"]


def call(function: str, *args: Any) -> dict[str, Any]:
    return {"id": f"LB_{function}", "args": list(args)}


def column(values: list[Any], empty_after: int = 0) -> list[list[Any]]:
    """A column range: the values, then ``empty_after`` empty cells."""
    return [[v] for v in values] + [[EMPTY]] * empty_after


def cell(value: Any) -> list[list[Any]]:
    return [[value]]


def host_cells(rows: list[list[Any]]) -> list[list[Any]]:
    """Workbook cells as a range argument: None an empty cell, dates as serial numbers."""
    return [[_host_cell(v) for v in row] for row in rows]


def _host_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return EMPTY
    if isinstance(value, dt.date):
        return serial(value)
    return value


@pytest.fixture(scope="module")
def tables():
    """The demo workbook's input tables with their header rows, as ranges (formula columns
    with their values)."""
    wb = demo_as_calculated()
    names = ("Sources", "History", "Settings", "PriceTiers")
    return {name: host_cells(table_cells(wb, name)[1]) for name in names}


# --- registration: what Excel loads ---------------------------------------------------------


def test_every_function_registers_under_lb_in_xlwings_client(served):
    registered = excel(served, "desktop", [])["registered"]
    meta = httpx.get(f"{served}/xlwings/custom-functions-meta.json").json()["functions"]
    assert {f["name"] for f in meta} == EXCEL_NAMES
    # Excel binds a function by its metadata id to the code's CustomFunctions.associate id.
    assert sorted(registered) == sorted(f["id"] for f in meta)
    assert {f"LB_{name}" for name in EXCEL_NAMES} == set(registered)


def test_a_cell_without_the_sign_in_token_says_what_to_do(served):
    """xlwings' client, before the user pasted the token: the cell tells them, no answer."""
    got = excel(served, "web", [call("PAYBACK", column([-100, 60, 60]))], sign_in="")
    (answer,) = got["answers"]
    assert "value" not in answer, answer
    assert "needs your sign-in token" in answer["message"], answer


def test_the_manifest_is_leadbooks_add_in(served):
    manifest = httpx.get(f"{served}/manifest.xml").text
    assert '<bt:String id="Functions.Namespace" DefaultValue="LB" />' in manifest
    assert "<Id>e4a853d0-c7cc-4121-a93f-430181f58855</Id>" in manifest
    assert '<DisplayName DefaultValue="leadbook" />' in manifest
    # No button of xlwings' stock manifest (its Hello World calls a script leadbook lacks).
    assert "Hello World" not in manifest and "ExecuteFunction" not in manifest
    assert f"{served}/taskpane.html" in manifest


def test_the_task_pane_has_every_button_and_only_leadbooks(served):
    page = httpx.get(f"{served}/taskpane.html").text
    meta = httpx.get(f"{served}/xlwings/custom-scripts-meta.json").json()
    clicked = set(re.findall(r'lb-click="(\w+)"', page))
    assert clicked == SCRIPTS == {s["function_name"] for s in meta}
    assert "xw-click" not in page  # every press sends the formulas (static/js/buttons.js)


# --- the same answer on both hosts ------------------------------------------------------------

HISTORY = [120, 130, 125, 140, 150, 145, 160, 170, 165, 180, 175, 190] * 2  # 24 months
FLOWS = [-1000, 200, 250, 300, 300, 300]
PREDICTED = [round(0.05 + 0.9 * ((i * 37) % 25) / 25, 3) for i in range(25)]
ACTUAL = [1 if p > 0.55 or i % 7 == 0 else 0 for i, p in enumerate(PREDICTED)]


def longer_than_data(tables: dict[str, list[list[Any]]]) -> list[tuple[dict, dict]]:
    """Calls over ranges longer than their data or with empty cells, each with the same call
    over exactly the data: (call, exact call)."""
    s, h, st, pt = (tables[k] for k in ("Sources", "History", "Settings", "PriceTiers"))
    flows_exact = column(FLOWS)
    return [
        (call("PAYBACK", column(FLOWS, 18)), call("PAYBACK", flows_exact)),
        (call("NPV_COHORT", column(FLOWS, 18)), call("NPV_COHORT", flows_exact)),
        (call("NPV_COHORT", flows_exact, None), call("NPV_COHORT", flows_exact)),
        (call("HIRING_PLAN", column([2400, 2500, 2600], 9), cell(50)),
         call("HIRING_PLAN", column([2400, 2500, 2600]), cell(50))),
        (call("CLASSIFIER_METRICS", column(PREDICTED, 74), column(ACTUAL, 74)),
         call("CLASSIFIER_METRICS", column(PREDICTED), column(ACTUAL))),
        (call("TIER", cell(30), cell("active"), cell(4.6), cell(EMPTY)),
         call("TIER", cell(30), cell("active"), cell(4.6))),
        (call("RISKCLASS", cell(30), cell("active"), cell("compliant"), cell(4), cell(EMPTY)),
         call("RISKCLASS", cell(30), cell("active"), cell("compliant"), cell(4))),
        (call("LEADTYPE", cell(1), cell(2), cell(EMPTY)), call("LEADTYPE", cell(1), cell(2))),
        (call("REPS_NEEDED", cell(2400), cell(EMPTY), cell(EMPTY)),
         call("REPS_NEEDED", cell(2400))),
        (call("EXPECTED_ROI", cell(EMPTY), cell(900), cell(50)),
         call("EXPECTED_ROI", cell(0), cell(900), cell(50))),
        (call("ROI", cell(100), cell(EMPTY)), call("ROI", cell(100), cell(0))),
        (call("LEAD_PRICE", cell(0.2), cell(80), cell(EMPTY), cell(0.25)),
         call("LEAD_PRICE", cell(0.2), cell(80), cell(0), cell(0.25))),
        (call("BREAKEVEN_P", cell(EMPTY), cell(100), cell(20), cell(60)),
         call("BREAKEVEN_P", cell(0), cell(100), cell(20), cell(60))),
        (call("FORECAST", column(HISTORY), cell(EMPTY), cell(EMPTY)),
         call("FORECAST", column(HISTORY))),
        (call("BLENDED_CPL", s), call("BLENDED_CPL", s)),
        (call("BLENDED_CONVERSION", s), call("BLENDED_CONVERSION", s)),
        (call("BLENDED_CPA", s), call("BLENDED_CPA", s)),
        (call("PORTFOLIO", s), call("PORTFOLIO", s)),
        (call("CLASSES", s, h, st), call("CLASSES", s, h, st)),
        (call("SCORES", s, h, st), call("SCORES", s, h, st)),
        (call("ALLOCATE", s, cell(EMPTY), st, h, pt), call("ALLOCATE", s, None, st, h, pt)),
        (call("EXPLAIN", s, cell(EMPTY), st, h, pt), call("EXPLAIN", s, None, st, h, pt)),
        (call("BUDGET_CURVE", s, column([300000, 340000], 4), st, h, pt),
         call("BUDGET_CURVE", s, column([300000, 340000]), st, h, pt)),
        (call("KPI", cell("blended_cpl"), s, h, st, cell(EMPTY)),
         call("KPI", cell("blended_cpl"), s, h, st)),
    ]  # fmt: skip


def lead_score(book: Path) -> tuple[dict, dict]:
    """LB.LEAD_SCORE of the demo's last lead (its Days to first contact missing, as =NA()),
    over header and value rows two cells longer than the features, and exactly."""
    import openpyxl

    ws = openpyxl.load_workbook(book)["Leads"]
    rows = [[c.value for c in row] for row in ws[ws.tables["Leads"].ref]]
    header, lead = rows[0], rows[-1]
    features = ["Source", *header[header.index("Created") + 1 : header.index("Cost")]]
    values = [lead[header.index(h)] for h in features]
    assert None in values  # a missing value, which the sheet gives as =NA()
    values = [{"error": "#N/A"} if v is None else v for v in values]
    where = cell(f"{book.parent}/[{book.name}]Leads")  # as CELL("filename") gives it
    return (
        call("LEAD_SCORE", where, [[*features, EMPTY, EMPTY]], [[*values, EMPTY, EMPTY]]),
        call("LEAD_SCORE", where, [features], [values]),
    )


@pytest.fixture(scope="module")
def both_hosts(served, tables, scored_demo):
    pairs = [*longer_than_data(tables), lead_score(scored_demo)]
    calls = [c for pair in pairs for c in pair]
    return pairs, {host: answers(served, host, calls) for host in HOSTS}


def same(a: Any, b: Any) -> bool:
    """Equal, numbers to 1e-12 (a sum over more terms may differ in its last bit)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def test_every_function_gives_the_exact_ranges_answer_on_both_hosts(both_hosts):
    pairs, found = both_hosts
    assert {c["id"] for c, _ in pairs} == {f"LB_{n}" for n in EXCEL_NAMES}
    for host in HOSTS:
        got = found[host]
        for i, (given, _) in enumerate(pairs):
            padded, exact = got[2 * i], got[2 * i + 1]
            assert "error" not in exact, (host, given["id"], exact)
            assert "value" in padded, (host, given["id"], padded)
            assert same(padded["value"], exact["value"]), (host, given["id"], padded)


def test_forecast_over_a_longer_range(served):
    """24 months and 6 empty cells: the web's answer is the 24 months' forecast; desktop's 0s
    cannot be told from months of 0, so it says so instead of forecasting them."""
    padded, exact = call("FORECAST", column(HISTORY, 6)), call("FORECAST", column(HISTORY))
    web = answers(served, "web", [padded, exact])
    assert web[0]["value"] == web[1]["value"]
    (desktop,) = answers(served, "desktop", [padded])
    assert desktop["error"] == "#VALUE!"
    assert "values ends with 6 cell(s) of 0 (after value 24)" in desktop["message"]
    assert AMBIGUOUS in desktop["message"]


def test_an_empty_discount_rate_cell_is_never_a_silent_zero(served):
    flows = column(FLOWS)
    web, default = answers(served, "web", [call("NPV_COHORT", flows, cell(EMPTY)),
                                           call("NPV_COHORT", flows, cell(0.10))])  # fmt: skip
    assert web["value"] == default["value"]  # blank: DiscountRate's 10 %
    (desktop,) = answers(served, "desktop", [call("NPV_COHORT", flows, cell(EMPTY))])
    assert desktop["error"] == "#VALUE!"
    assert desktop["message"].startswith("annual_rate is 0, or an empty cell")


def test_zero_and_zero_predictions_are_ambiguous_unless_the_data_tells(served):
    """0/1 predictions whose last lead was predicted and found 0: on the web, the blank cells
    after it show that its 0s were typed; TRUE/FALSE outcomes show it on every host; an
    exact range of numbers cannot show it, and gets the message rather than a guess."""
    hard = [1, 0, 1, 1, 0]
    outcome = [1, 0, 0, 1, 0]
    padded = call("CLASSIFIER_METRICS", column(hard, 5), column(outcome, 5))
    as_flags = call("CLASSIFIER_METRICS", column(hard, 5), column([x == 1 for x in outcome], 5))
    exact = call("CLASSIFIER_METRICS", column(hard), column(outcome))
    web = answers(served, "web", [padded, as_flags, exact])
    desktop = answers(served, "desktop", [padded, as_flags, exact])
    right = web[1]["value"]
    assert right[0] == ["Accuracy", 0.8]
    assert web[0]["value"] == desktop[1]["value"] == right
    for ambiguous in (desktop[0], web[2], desktop[2]):
        assert "cannot tell them from leads" in ambiguous["message"], ambiguous


def test_an_error_cell_gets_a_message_naming_it(served, tables):
    sources = [row[:] for row in tables["Sources"]]
    sources[2][sources[0].index("CPL")] = {"error": "#DIV/0!"}
    calls = [call("TIER", cell(30), cell("active"), cell({"error": "#N/A"})),
             call("SCORES", sources)]  # fmt: skip
    for host in HOSTS:
        tier, scores = answers(served, host, calls)
        assert tier["error"] == "#VALUE!" and "#N/A" in tier["message"], tier
        assert "CPL" in scores["message"] and "#DIV/0!" in scores["message"], scores
        assert "internal error" not in scores["message"]


# --- runaway calls --------------------------------------------------------------------------


def health_while(base: str, busy: threading.Thread) -> list[float]:
    """Seconds the health check took, asked every 0.2 s while ``busy`` runs (each must
    answer)."""
    seen = []
    while busy.is_alive():
        started = time.monotonic()
        assert httpx.get(f"{base}/", timeout=30).json() == {"status": "ok"}
        seen.append(time.monotonic() - started)
        time.sleep(0.2)
    return seen


@pytest.mark.parametrize("host", HOSTS)
def test_a_whole_column_answers_or_says_it_is_too_large(served, host):
    whole = call("FORECAST", {"values": column(HISTORY), "rows": WHOLE_COLUMN})
    found: list[dict[str, Any]] = []
    busy = threading.Thread(target=lambda: found.extend(answers(served, host, [whole])))
    busy.start()
    waits = health_while(served, busy)
    (answer,) = found
    if host == "web":  # empty cells arrive as null: the column shrinks to its 24 months
        (exact,) = answers(served, host, [call("FORECAST", column(HISTORY))])
        assert answer["value"] == exact["value"]
    else:
        assert answer["error"] == "#VALUE!"
        assert answer["message"].startswith("LB.FORECAST: its ranges hold about 1,048,")
        assert "more than the 1,000,000 a call takes" in answer["message"]
    assert waits  # the server answered its health check meanwhile (the figures:
    # benchmarks/excel_runaway.py)


def test_a_call_past_the_time_limit_is_stopped_and_the_server_goes_on():
    base, proc = start_server(LEADBOOK_CALL_SECONDS="0.3")
    try:
        quick = call("ROI", cell(100), cell(440))
        deadline = time.monotonic() + 60
        # Until the compute processes have started: a call waits for a ready one, and its
        # wait counts against its 0.3 s.
        while not all("value" in a for a in answers(base, "desktop", [quick, quick])):
            assert time.monotonic() < deadline, "the compute processes never came up"
            time.sleep(1)
        # 250 years of months: about 1 s of fitting on this machine, three times the limit
        long_history = [100 + (i % 12) * 7 + i + (i * 7919) % 13 for i in range(3000)]
        slow = call("FORECAST", column(long_history), cell(120))
        (stopped,) = answers(base, "desktop", [slow])
        assert stopped["error"] == "#VALUE!"
        assert "LB.FORECAST was stopped after 0.3 s" in stopped["message"]
        assert "LEADBOOK_CALL_SECONDS" in stopped["message"]
        (after,) = answers(base, "desktop", [quick])
        assert after["value"] == [[pytest.approx(3.4)]], after
        # A caller that leaves (Excel closed) before the limit: its computation stops too.
        body = {
            "client": "Office.js",
            "func_name": "LB_FORECAST",
            "caller_address": None,
            "args": [column(long_history[::-1])],
            "version": "0.37.8",
            "runtime": "1.4",
            "date_format": "M/d/yyyy",  # as the client sends it; the edge refuses a call without
        }
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                f"{base}/xlwings/custom-functions-call",
                json=body,
                headers={"Authorization": SIGN_IN},
                timeout=0.05,
            )
        time.sleep(1)
    finally:
        log = stop_server(proc)
    assert "stopped a compute process" in log and "it ran past the time limit" in log
    assert "its caller is gone" in log
