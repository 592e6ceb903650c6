"""obcore.filters: every filter at its edges, with the nearest valid value named."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from obcore.filters import FilterViolationError, SymbolFilters, check_order, nearest_on_grid

INFO = {
    "symbol": "ETHUSDT",
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
        {"filterType": "LOT_SIZE", "minQty": "0.00010000", "maxQty": "9000.00000000", "stepSize": "0.00010000"},
        {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "1000.00000000", "stepSize": "0.00000000"},
        {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
         "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
        {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "5", "bidMultiplierDown": "0.2",
         "askMultiplierUp": "5", "askMultiplierDown": "0.2", "avgPriceMins": 5},
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 3},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 1},
    ],
}
F = SymbolFilters.from_symbol_info(INFO)


def _limit(**kw):
    args = {"side": "BUY", "order_type": "LIMIT", "quantity": D("0.01"), "price": D("2500.00"),
            "average_price": D("2500"), "open_orders": 0}
    args.update(kw)
    return check_order(F, **args)


def _refused(**kw) -> FilterViolationError:
    with pytest.raises(FilterViolationError) as info:
        _limit(**kw)
    return info.value


def test_a_valid_limit_passes_every_filter_that_applies():
    assert _limit() == ("PRICE_FILTER", "LOT_SIZE", "NOTIONAL", "PERCENT_PRICE_BY_SIDE", "MAX_NUM_ORDERS")


@pytest.mark.parametrize("price, suggested", [("2500.004", "2500"), ("2500.005", "2500"), ("2500.006", "2500.01"),
                                              ("0.001", "0.01"), ("0", "0.01"), ("2000000", "1000000")])
def test_price_filter_names_the_nearest_tick(price, suggested):
    error = _refused(price=D(price), average_price=None)
    assert error.filter == "PRICE_FILTER" and error.field == "price"
    assert error.suggested == D(suggested)
    assert "PRICE_FILTER" in str(error) and suggested in str(error)


def test_price_exactly_on_the_bounds_passes():
    check_order(F, side="BUY", order_type="LIMIT", quantity=D("500"), price=D("0.01"))
    check_order(F, side="BUY", order_type="LIMIT", quantity=D("0.0001"), price=D("1000000"))


def test_stop_price_is_on_the_tick_grid_too():
    error = _refused(order_type="STOP_LOSS_LIMIT", stop_price=D("2400.001"))
    assert (error.filter, error.field, error.suggested) == ("PRICE_FILTER", "stop_price", D("2400"))


@pytest.mark.parametrize("qty, suggested", [("0.00015", "0.0001"), ("0.00016", "0.0002"), ("0.00005", "0.0001"),
                                            ("9000.0001", "9000")])
def test_lot_size_names_the_nearest_step(qty, suggested):
    error = _refused(quantity=D(qty), price=D("100000"))
    assert error.filter == "LOT_SIZE" and error.suggested == D(suggested)


def test_market_lot_size_applies_to_market_orders_only():
    check_order(F, side="BUY", order_type="LIMIT", quantity=D("2000"), price=D("1"))
    with pytest.raises(FilterViolationError) as info:
        check_order(F, side="BUY", order_type="MARKET", quantity=D("2000"), average_price=D("1"))
    assert info.value.filter == "MARKET_LOT_SIZE" and info.value.suggested == D("1000")


def test_notional_minimum_suggests_the_smallest_quantity_on_the_step():
    error = _refused(quantity=D("0.0019"), price=D("2500"))  # 4.75 < 5
    assert error.filter == "NOTIONAL" and error.suggested == D("0.002")  # 5.0 exactly
    _limit(quantity=D("0.002"), price=D("2500"))  # 5.00: exactly the minimum passes


def test_notional_of_a_market_order_uses_the_average_price_or_the_quote_amount():
    with pytest.raises(FilterViolationError) as info:
        check_order(F, side="SELL", order_type="MARKET", quantity=D("0.001"), average_price=D("2500"))
    assert info.value.filter == "NOTIONAL" and info.value.suggested == D("0.002")
    with pytest.raises(FilterViolationError) as info:
        check_order(F, side="BUY", order_type="MARKET", quote_order_qty=D("4.99"))
    assert info.value.field == "quote_order_qty" and info.value.suggested == D("5")
    check_order(F, side="BUY", order_type="MARKET", quote_order_qty=D("5"))
    # applyMaxToMarket False: a huge market order is not capped by maxNotional.
    check_order(F, side="BUY", order_type="MARKET", quantity=D("999"), average_price=D("100000"))


def test_percent_price_by_side_bounds_the_limit_price_around_the_average():
    error = _refused(price=D("12500.01"))
    assert error.filter == "PERCENT_PRICE_BY_SIDE" and error.suggested == D("12500")
    _limit(price=D("12500"))
    error = _refused(side="SELL", price=D("499.99"), quantity=D("1"))
    assert error.suggested == D("500")
    _limit(side="SELL", price=D("500"), quantity=D("1"))


def test_max_num_orders_counts_the_new_order():
    _limit(open_orders=2)
    error = _refused(open_orders=3)
    assert error.filter == "MAX_NUM_ORDERS" and "3" in str(error)


def test_max_num_algo_orders_counts_stop_orders_only():
    check_order(F, side="BUY", order_type="LIMIT", quantity=D("1"), price=D("10"), open_algo_orders=1)
    with pytest.raises(FilterViolationError, match="MAX_NUM_ALGO_ORDERS"):
        check_order(F, side="BUY", order_type="STOP_LOSS_LIMIT", quantity=D("1"), price=D("10"),
                    stop_price=D("10"), open_algo_orders=1)


def test_legacy_min_notional_and_percent_price():
    legacy = SymbolFilters.from_symbol_info({"symbol": "X", "filters": [
        {"filterType": "MIN_NOTIONAL", "minNotional": "10", "applyToMarket": False},
        {"filterType": "PERCENT_PRICE", "multiplierUp": "1.1", "multiplierDown": "0.9"}]})
    with pytest.raises(FilterViolationError, match="MIN_NOTIONAL"):
        check_order(legacy, side="BUY", order_type="LIMIT", quantity=D("1"), price=D("9.99"))
    check_order(legacy, side="BUY", order_type="MARKET", quantity=D("1"), average_price=D("1"))  # not applied
    with pytest.raises(FilterViolationError, match="PERCENT_PRICE"):
        check_order(legacy, side="BUY", order_type="LIMIT", quantity=D("1"), price=D("111"), average_price=D("100"))


def test_grid_helper_is_exact():
    assert nearest_on_grid(D("0.30000000000000004"), D("0.1"), D("0.1"), D(0)) == D("0.3")
    assert nearest_on_grid(D("7"), D("1"), D("3"), D("6")) == D("4")  # 7 clamps to 6, then to the grid below


def test_a_bad_exchange_info_entry_is_refused():
    with pytest.raises(ValueError, match="filters"):
        SymbolFilters.from_symbol_info({"symbol": "X"})
