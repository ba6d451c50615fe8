"""Tests of Score leads on workbook files: outputs, safety, the stored model, the oracle."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from leadbook import contract as C
from leadbook.cli import app
from leadbook.demo import demo_leads
from leadbook.errors import InputError, LeadbookError
from leadbook.leads.model import ModelError
from leadbook.leads.store import model_dir
from leadbook.leads.table import by_header
from leadbook.workbook.jobs.leads import score_leads
from leadbook.workbook.jobs.refresh import demo
from leadbook.workbook.write import update_workbook
from tests.conftest import error_cells, recalc_values

HEADER_ROW = 23
OUTPUT_HEADERS = {c.header for c in C.LEADS_TABLE.columns if c.role is not C.Role.INPUT}


@pytest.fixture(scope="module")
def scored_once(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scored")
    path, _ = demo(folder / "book.xlsx")
    score_leads(path)
    return path


@pytest.fixture
def book(scored_once, tmp_path) -> Path:
    """A fresh copy of a scored demo workbook and its model folder."""
    target = tmp_path / "book.xlsx"
    shutil.copy2(scored_once, target)
    shutil.copytree(model_dir(scored_once), model_dir(target))
    return target


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lead_rows(path: Path) -> pd.DataFrame:
    ws = openpyxl.load_workbook(path)["Leads"]
    rows = list(ws.iter_rows(min_row=HEADER_ROW, values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0]).dropna(how="all")


class TestScoreLeads:
    def test_scores_open_leads_only_and_keeps_inputs(self, book, tmp_path):
        before = lead_rows(book)
        score_leads(book)
        after = lead_rows(book)
        inputs = [c for c in before.columns if c not in OUTPUT_HEADERS]
        pd.testing.assert_frame_equal(before[inputs], after[inputs])
        open_ = after["Converted"].isna()
        assert after.loc[open_, "Probability"].notna().all()
        assert after.loc[~open_, "Probability"].isna().all()
        assert set(after.loc[open_, "Action"]) <= {
            "work first",
            "sell to partner",
            "nurture",
            "drop",
        }
        work = after[after["Action"] == "work first"].sort_values("Priority")
        roi = work["Probability"] * work["Value if converted"] / work["Cost"]
        assert roi.is_monotonic_decreasing

    def test_rescoring_is_logged_without_retraining(self, book):
        model_files = sorted(p.name for p in model_dir(book).iterdir())
        result = score_leads(book)
        assert not result.trained
        assert sorted(p.name for p in model_dir(book).iterdir()) == model_files
        log = openpyxl.load_workbook(book)["Log"]
        last = [c.value for c in log[log.max_row]]
        assert last[1] == "score-leads" and "loaded (hash verified)" in last[3]

    def test_the_calibration_chart_survives_rescoring(self, book):
        score_leads(book)
        ws = openpyxl.load_workbook(book)["Leads"]
        assert ws["V4"].value is not None
        from leadbook.workbook.parts import Package
        from leadbook.workbook.write import _sheet_parts

        assert sum(_sheet_parts(Package.read(book))["Leads"].values()) == 1  # the chart's drawing

    def test_a_job_that_touches_an_input_column_writes_nothing(self, book):
        before = digest(book)

        def vandal(wb):
            wb["Leads"]["I24"] = 1.0  # the Cost of the first lead
            return "vandalised"

        with pytest.raises(AssertionError, match="changed input columns of a table"):
            update_workbook(book, "vandal", vandal)
        assert digest(book) == before

    def test_a_job_that_touches_a_feature_column_writes_nothing(self, book):
        def vandal(wb):
            wb["Leads"]["D24"] = 0.99  # Form completeness, a feature the user added
            return "vandalised"

        with pytest.raises(AssertionError, match="changed input columns"):
            update_workbook(book, "vandal", vandal)


class TestStoredModel:
    def test_missing_model_is_an_error_not_a_retrain(self, book):
        shutil.rmtree(model_dir(book))
        before = digest(book)
        with pytest.raises(ModelError, match=r"is missing from .*does not retrain on its own"):
            score_leads(book)
        assert digest(book) == before and not model_dir(book).exists()

    def test_tampered_model_is_refused(self, book):
        path = next(model_dir(book).glob("*.zip"))
        data = bytearray(path.read_bytes())
        data[-10] ^= 0xFF
        path.write_bytes(bytes(data))
        before = digest(book)
        with pytest.raises(ModelError, match="has been altered"):
            score_leads(book)
        assert digest(book) == before

    def test_a_planted_pickle_runs_no_code_through_the_command(self, book, tmp_path):
        from tests.test_qualify import WritesWhenLoaded

        marker = tmp_path / "marker"
        data = pickle.dumps(WritesWhenLoaded(marker))
        planted = hashlib.sha256(data).hexdigest()
        shutil.rmtree(model_dir(book))
        model_dir(book).mkdir()
        (model_dir(book) / f"model-{planted[:16]}.pkl").write_bytes(data)
        wb = openpyxl.load_workbook(book)
        wb["Leads"]["B5"] = planted  # the workbook vouches for the pickle
        wb.save(book)
        before = digest(book)
        result = CliRunner().invoke(app, ["score-leads", str(book)])
        assert result.exit_code == 2, result.output
        assert "old pickle format" in " ".join(result.output.split())
        assert not marker.exists() and digest(book) == before

    def test_model_of_another_workbook_copy_is_stale(self, book, tmp_path):
        other = tmp_path / "other" / "book.xlsx"
        other.parent.mkdir()
        shutil.copy2(book, other)
        score_leads(other, retrain=True)  # a newer training run next to the copy
        shutil.rmtree(model_dir(book))
        shutil.copytree(model_dir(other), model_dir(book))
        with pytest.raises(ModelError, match="is stale: it is"):
            score_leads(book)

    def test_retrain_recovers(self, book):
        shutil.rmtree(model_dir(book))
        result = score_leads(book, retrain=True)
        assert result.trained
        wb = openpyxl.load_workbook(book)
        assert wb["Leads"]["B5"].value == result.record.model_hash
        assert [p.name[:22] for p in model_dir(book).glob("*.zip")] == [
            f"model-{result.record.model_hash[:16]}"
        ]

    def test_a_workbook_without_record_beside_a_model_is_refused(self, book):
        wb = openpyxl.load_workbook(book)
        wb["Leads"]["B5"] = None
        wb.save(book)
        with pytest.raises(ModelError, match="records none"):
            score_leads(book)


class TestLeadScore:
    def test_one_lead_from_the_recorded_model(self, book):
        from leadbook.leads.store import load_model
        from leadbook.workbook.jobs.leads import lead_score
        from leadbook.workbook.leadgrid import read_model_record

        features = {"Source": "Organic search", "Pages viewed": 9, "Company size": "200+"}
        model = load_model(book, read_model_record(openpyxl.load_workbook(book)))
        frame = pd.DataFrame([{f: features.get(f) for f in model.features}])
        assert lead_score(book, features) == pytest.approx(float(model.predict(frame)[0]))

    def test_unknown_feature(self, book):
        from leadbook.workbook.jobs.leads import lead_score

        with pytest.raises(ValueError, match="unknown feature\\(s\\) 'Shoe size'; the model uses"):
            lead_score(book, {"Source": "Organic search", "Shoe size": 44})

    def test_a_workbook_never_scored(self, template_path):
        from leadbook.workbook.jobs.leads import lead_score

        with pytest.raises(ModelError, match="records no lead model yet"):
            lead_score(template_path, {})


class TestTemplate:
    def test_the_empty_leads_table_and_report(self, template_path):
        ws = openpyxl.load_workbook(template_path)["Leads"]
        assert set(ws.tables) == {t.name for t in C.LEADS.tables}
        headers = [c.value for c in ws[HEADER_ROW] if c.value]
        assert headers == C.LEADS_TABLE.headers


class TestBadLeadRows:
    def test_every_bad_row_is_located(self, book):
        wb = openpyxl.load_workbook(book)
        ws = wb["Leads"]
        ws["I24"] = -5  # Cost of L0001
        ws["B25"] = "Organic serch"  # Source of L0002
        ws["A26"] = "L0001"  # duplicate id
        ws["E27"] = "many"  # Pages viewed, a numeric feature
        ws["K28"] = "maybe"  # Converted
        wb.save(book)
        with pytest.raises(InputError) as info:
            score_leads(book)
        text = str(info.value)
        for expected in (
            "Leads!I24: Cost must be > 0, got -5",
            "Leads!B25: source 'Organic serch' is not in Sources — did you mean 'Organic search'?",
            "Leads!A26: lead id 'L0001' appears twice (first at Leads!A24)",
            "Leads!E27: Pages viewed must be a number like the rest of its column, got 'many'",
            "Leads!K28: Converted must be yes or no, got 'maybe'",
        ):
            assert expected in text


def rename_header(book: Path, cell: str, name: str) -> None:
    """Type ``name`` over a header cell of the Leads table; as in Excel, its column is renamed."""
    wb = openpyxl.load_workbook(book)
    ws = wb["Leads"]
    for column in ws.tables["Leads"].tableColumns:
        if column.name == ws[cell].value:
            column.name = name
    ws[cell] = name
    wb.save(book)


class TestTableShape:
    def test_a_deleted_output_column_is_named(self, book):
        rename_header(book, "S23", "Asking price")  # was Price
        with pytest.raises(LeadbookError, match="the Leads table has no output column 'Price'"):
            score_leads(book)

    # Deleting the table leaves its formulas naming it: a file Excel would never write.
    @pytest.mark.broken_files("book.xlsx")
    def test_no_leads_table(self, book):
        wb = openpyxl.load_workbook(book)
        del wb["Leads"].tables["Leads"]
        wb.save(book)
        with pytest.raises(LeadbookError, match="has no Leads table on a Leads tab"):
            score_leads(book)

    def test_a_feature_the_model_needs_is_missing(self, book):
        rename_header(book, "E23", "Pages seen")  # renames the feature Pages viewed
        with pytest.raises(InputError, match="no feature column 'Pages viewed', which the model"):
            score_leads(book)


class TestCommandLine:
    def test_json(self, book):
        result = CliRunner().invoke(app, ["score-leads", str(book), "--json"])
        assert result.exit_code == 0, result.output
        assert '"trained": false' in result.stdout

    def test_lead_file_in_chunks(self, book, tmp_path):
        leads = by_header(demo_leads())
        leads.to_csv(tmp_path / "leads.csv", index=False)
        result = score_leads(book, leads_file=tmp_path / "leads.csv", chunk_rows=25)
        scored = pd.read_csv(tmp_path / "leads.scored.csv")
        assert len(scored) == 60 and scored["lead_id"].iloc[0] == "L0301"
        in_book = lead_rows(book).set_index("Lead ID")
        assert (
            scored.set_index("lead_id")["probability"]
            .round(9)
            .equals(
                in_book.loc[scored["lead_id"], "Probability"]
                .astype(float)
                .round(9)
                .rename("probability")
                .rename_axis("lead_id")
            )
        )
        assert result.output_file == tmp_path / "leads.scored.csv"

    def test_lead_file_in_parquet(self, book, tmp_path):
        by_header(demo_leads()).to_parquet(tmp_path / "leads.parquet")
        score_leads(book, leads_file=tmp_path / "leads.parquet", chunk_rows=100)
        scored = pd.read_parquet(tmp_path / "leads.scored.parquet")
        assert len(scored) == 60 and scored["priority"].isna().all()

    @pytest.mark.parametrize("suffix", [".csv", ".parquet"])
    def test_lead_file_in_one_chunk_scores_its_open_leads(self, book, tmp_path, suffix):
        # The default chunk (50,000 rows) holds every demo lead, closed and open together: a
        # blank Converted there became NaN (str(NaN) == "nan") and every lead counted as closed.
        leads = by_header(demo_leads())
        path = tmp_path / f"leads{suffix}"
        if suffix == ".csv":
            leads.to_csv(path, index=False)
        else:
            leads.to_parquet(path)
        result = score_leads(book, leads_file=path)
        read = pd.read_csv if suffix == ".csv" else pd.read_parquet
        scored = read(result.output_file)
        open_ids = leads.loc[leads["Converted"].isna(), "Lead ID"].tolist()
        assert len(open_ids) == 60 and scored["lead_id"].tolist() == open_ids

    def test_lead_file_as_json(self, book, tmp_path):
        # --json scored the workbook's Leads table and ignored --leads FILE.
        leads = by_header(demo_leads())
        leads = leads[leads["Converted"].notna() | (leads["Lead ID"] == "L0301")]
        leads.to_csv(tmp_path / "leads.csv", index=False)
        result = CliRunner().invoke(
            app, ["score-leads", str(book), "--leads", str(tmp_path / "leads.csv"), "--json"]
        )
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert out["output_file"] == str(tmp_path / "leads.scored.csv")
        assert pd.read_csv(tmp_path / "leads.scored.csv")["lead_id"].tolist() == ["L0301"]

    def test_bad_row_in_a_lead_file_is_located(self, book, tmp_path):
        leads = by_header(demo_leads())
        leads.loc[302, "Cost"] = -1
        leads.to_csv(tmp_path / "leads.csv", index=False)
        result = CliRunner().invoke(
            app, ["score-leads", str(book), "--leads", str(tmp_path / "leads.csv")]
        )
        assert result.exit_code == 2
        assert "leads.csv line 304, Cost: Cost must be > 0, got '-1.0'" in result.output
        assert not (tmp_path / "leads.scored.csv").exists()

    def test_infinity_in_a_parquet_feature_column_is_located(self, book, tmp_path):
        # a float column of a Parquet file may hold ±inf (CSV's "inf" text was refused, but
        # Parquet's floats reached scikit-learn: "Input X contains infinity", exit 3)
        leads = by_header(demo_leads())
        leads["Form completeness"] = leads["Form completeness"].astype(float)
        leads.loc[302, "Form completeness"] = float("inf")
        leads.loc[303, "Form completeness"] = float("-inf")
        leads.to_parquet(tmp_path / "leads.parquet")
        before = digest(book)
        result = CliRunner().invoke(
            app, ["score-leads", str(book), "--leads", str(tmp_path / "leads.parquet")]
        )
        assert result.exit_code == 2, result.output
        said = " ".join(result.output.split())
        where = "leads.parquet line 304, Form completeness"
        assert f"{where}: Form completeness must be a finite number" in said
        assert "leads.parquet line 305, Form completeness" in said
        assert digest(book) == before
        assert not (tmp_path / "leads.scored.parquet").exists()

    def test_parquet_without_pyarrow_says_how_to_install(self, book, tmp_path, monkeypatch):
        path = tmp_path / "leads.parquet"
        path.write_bytes(b"PAR1")
        monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # as if not installed
        with pytest.raises(
            LeadbookError, match=r"needs pyarrow.*pip install 'leadbook\[parquet\]'"
        ):
            score_leads(book, leads_file=path)

    def test_an_open_lead_reusing_a_closed_leads_id(self, book, tmp_path):
        leads = by_header(demo_leads())
        leads.loc[305, "Lead ID"] = "L0007"  # an open lead with a closed lead's id
        leads.to_csv(tmp_path / "leads.csv", index=False)
        with pytest.raises(
            InputError, match=r"leads\.csv line 307, Lead ID: lead id 'L0007' appears"
        ):
            score_leads(book, leads_file=tmp_path / "leads.csv")

    def test_missing_lead_file(self, book, tmp_path):
        with pytest.raises(LeadbookError, match=r"nowhere\.csv: no such file"):
            score_leads(book, leads_file=tmp_path / "nowhere.csv")

    def test_unknown_file_type(self, book, tmp_path):
        path = tmp_path / "leads.xls"
        path.write_bytes(b"x")
        with pytest.raises(
            LeadbookError, match=r"lead files must be \.csv or \.parquet, not \.xls"
        ):
            score_leads(book, leads_file=path)


@pytest.mark.libreoffice
@pytest.mark.slow
class TestFormulaOracle:
    def test_built_demo_formulas_match_leadbook(self, tmp_path):
        from leadbook.workbook.jobs.refresh import demo_workbook
        from tests.conftest import close

        rendered = demo_workbook()
        path = tmp_path / "built.xlsx"
        rendered.workbook.save(path)
        wb = recalc_values(path, tmp_path / "lo")
        cells = {k: v for k, v in rendered.expected.items() if k.startswith("Leads!")}
        assert len(cells) > 60
        for where, want in cells.items():
            sheet, cell = where.split("!")
            got = wb[sheet][cell].value
            assert close(got, want) or (want is None and got in (None, "")), (where, got, want)

    def test_libreoffice_agrees_with_leadbook_on_the_leads_tab(self, book, tmp_path):
        wb = recalc_values(book, tmp_path / "lo")
        assert [c for c in error_cells(wb) if c.startswith("Leads!")] == []
        ws = wb["Leads"]
        rows = list(ws.iter_rows(min_row=HEADER_ROW, values_only=True))
        leads = pd.DataFrame(rows[1:], columns=rows[0]).dropna(how="all")
        open_ = leads["Probability"].notna()
        want = leads["Probability"] * leads["Value if converted"] / leads["Cost"]
        got = pd.to_numeric(leads.loc[open_, "Expected ROI"])
        pd.testing.assert_series_equal(got, want[open_], check_names=False, rtol=1e-9)
        assert leads.loc[~open_, "Expected ROI"].isna().all()  # "" reads back as blank
        # Confusion totals and band conversion: by hand from the cells beside them.
        for r in (4, 5):
            assert ws[f"K{r}"].value == ws[f"I{r}"].value + ws[f"J{r}"].value
        for r in (9, 10, 11):
            held, conv = ws[f"J{r}"].value, ws[f"K{r}"].value
            assert ws[f"L{r}"].value == pytest.approx(conv / held) if held else True
        # The chapter's pricing formulas with the Settings defaults.
        p = ws["U20"].value or 0.0
        assert ws["U21"].value == pytest.approx((p * 140 + (1 - p) * 70) / 0.75)
        assert ws["U22"].value == pytest.approx(p * (150 - 140) + (1 - p) * (30 - 70))
        assert ws["U15"].value == pytest.approx(3.0)
