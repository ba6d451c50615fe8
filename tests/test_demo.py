"""The demo's data tell one story: what Sources says is bought today, History's last month
bought, and nothing else."""

from __future__ import annotations

from leadbook.demo import demo_inventory


def test_a_source_with_no_spend_today_bought_nothing_in_historys_last_month():
    # Aged lead marketplace showed $0 on Sources beside $7,349 in History's October: the
    # test sources' tests ran to September and are on hold (October recorded at $0); the
    # paused network stopped in August
    inventory = demo_inventory()
    history = inventory.history
    last = history[history["month"] == history["month"].max()]
    bought = set(last.loc[last["spend"] > 0, "source"])
    assert bought == set(inventory.sources.index[inventory.sources["spend"] > 0])
    on_hold = last.loc[last["spend"] == 0, "source"]
    assert sorted(on_hold) == sorted(
        inventory.sources.index[inventory.sources["status"] == "testing"]
    )
    assert (last.loc[last["spend"] == 0, ["leads", "customers", "revenue"]] == 0).all().all()
