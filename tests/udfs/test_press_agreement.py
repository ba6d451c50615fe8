"""Buttons pressed one after another on the same live workbook agree, and a press refuses
what no file can keep (found by an outside attack on the in-memory Rebalance)."""

from __future__ import annotations

import json
import zipfile

import openpyxl
import pytest

from leadbook import contract as C
from tests.udfs.officejs import book_payload
from tests.udfs.test_scripts import SOURCES_FIRST_ROW, replayed

SPEND = 1 + C.SOURCES_TABLE.keys.index("spend")
# 17 significant digits whose 12-digit rounding (the fingerprints') differs from that of the
# 16 digits a saved .xlsx keeps: 127296.905035 as sent, 127296.905036 as the file reads it
SEVENTEEN = 127296.90503549999


def _post(client, script, payload):
    return client.post(
        f"/xlwings/custom-scripts-call/{script}",
        content=json.dumps(payload).encode(),
        headers={"content-type": "application/json"},
    )


def _live(path, value):
    """What Excel sends for the workbook at ``path`` with the first source's spend ``value``."""
    payload = book_payload(path)
    names = openpyxl.load_workbook(path).sheetnames
    sheet = payload["sheets"][names.index(C.SOURCES.name)]
    sheet["values"][SOURCES_FIRST_ROW - 1][SPEND - 1] = value
    return payload


@pytest.mark.parametrize("spend", [127296.5, SEVENTEEN])
def test_check_button_right_after_the_rebalance_button_finds_its_tabs_fresh(
    client, demo_book_path, tmp_path, monkeypatch, spend
):
    """The same live workbook, untouched between two presses: Rebalance, then Check. Check
    does not call the recommendation Rebalance just wrote stale, even with a number of 17
    significant digits whose 12-digit fingerprint differs from its 16-digit copy's:
    Rebalance reads the mirror in memory, Check the copy saved of it, and the mirror holds
    what the copy gives back."""
    monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
    assert f"{SEVENTEEN:.12g}" != f"{float(f'{SEVENTEEN:.16g}'):.12g}"
    first = _post(client, "rebalance", _live(demo_book_path, spend))
    assert first.status_code == 200, first.text
    replayed(demo_book_path, first.json()["actions"]).save(demo_book_path)
    second = _post(client, "check_inputs", _live(demo_book_path, spend))
    assert second.status_code == 200, second.text
    listed = [
        row for a in second.json()["actions"] if a["func"] == "setValues" for row in a["values"]
    ]
    stale = {row[0] for row in listed if "stale:" in str(row[1:])}
    assert stale, listed  # the tabs the demo computed before the spend changed
    assert not stale & {"Allocation", "Board", "Maturity"}, stale


@pytest.mark.parametrize("script", ["rebalance", "check_inputs"])
@pytest.mark.parametrize(
    "formula",
    ['="R\x01D"', '="R\x0bD"', '="R\ufffeD"', '="R\ud83dD"'],
    ids=["control", "vertical tab", "U+FFFE", "half an emoji"],
)
def test_a_live_formula_xml_cannot_hold_is_named_and_keeps_no_damaged_version(
    client, demo_book_path, tmp_path, monkeypatch, script, formula
):
    """A hostile (or pasted-into) workbook: a formula whose text holds a character no .xlsx
    can store. As a value like it (test_button_in_memory.py), it is refused, its cell
    named — not an internal error (it was: saving it, or patching it into the version),
    nor a press that keeps, as the version Undo reads, a file that cannot be parsed."""
    from xml.parsers import expat

    monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
    payload = book_payload(demo_book_path, [{"Sources": {formula: ["AA3"]}}])
    response = _post(client, script, payload)
    assert "internal error" not in response.text, response.text
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert "Sources!AA3" in response.text
    for version in (tmp_path / "files").rglob("*.leadbook-versions/*.xlsx"):
        with zipfile.ZipFile(version) as zf:
            for name in zf.namelist():
                if name.endswith(".xml"):
                    expat.ParserCreate().Parse(zf.read(name), True)


def test_rebalance_button_fed_by_the_lead_model_its_score_leads_button_trained(
    client, demo_book_path, tmp_path, monkeypatch
):
    """Score leads (retrain) keeps the model in the workbook's files folder; with
    LeadConversionSource = model, Rebalance should read it from there (as the command reads
    it beside the file): the button takes the model folder beside its copy (it said the
    model file was missing, and asked for the Score leads just pressed)."""
    from tests.conftest import set_setting
    from tests.udfs.test_scripts import IDENTITY, press

    monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
    trained = press(client, "score_leads_retrain", demo_book_path, identity=IDENTITY)
    assert trained.status_code == 200, trained.text
    replayed(demo_book_path, trained.json()["actions"]).save(demo_book_path)
    assert list((tmp_path / "files").rglob("*.leadbook-model/model-*.zip"))
    set_setting(demo_book_path, "leads.conversion_source", "model")
    response = press(client, "rebalance", demo_book_path, identity=IDENTITY)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("spend", [127296.5, SEVENTEEN])
def test_accept_plan_button_takes_what_the_rebalance_button_just_recommended(
    client, demo_book_path, tmp_path, monkeypatch, spend
):
    """Rebalance, then Accept plan, the live workbook untouched between them, with a
    17-digit number in Sources: Accept takes the plan (it refused it as stale, and pressing
    Rebalance again changed nothing, while Rebalance hashed the 17 digits Excel sent and
    Accept the 16 its saved copy keeps)."""
    monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
    for _ in range(2):  # Accept's advice followed once
        first = _post(client, "rebalance", _live(demo_book_path, spend))
        assert first.status_code == 200, first.text
        replayed(demo_book_path, first.json()["actions"]).save(demo_book_path)
    second = _post(client, "accept_plan", _live(demo_book_path, spend))
    assert second.status_code == 200, second.text[:500]
