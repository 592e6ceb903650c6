"""Server-minted confirmation ids (obmcp.confirmations): bound to tool and arguments, expire,
confirm once, refuse tampering — each refusal naming why."""

from __future__ import annotations

import pytest

from obcore.errors import InvalidInputError

from obmcp.confirmations import CONFIRMATION_ARGUMENT, ConfirmationError, Confirmations, arguments_hash

ORDER = {"symbol": "ETHUSDT", "side": "BUY", "quantity": "0.5", "price": "2500.00"}


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_minted_id_confirms_its_call_once():
    confirmations = Confirmations(clock=Clock())
    minted = confirmations.mint("place_order", ORDER)
    assert minted.id.startswith("cf1.") and minted.arguments_hash == arguments_hash(ORDER)
    # The id travels back as an ordinary argument; it is not part of what it confirms.
    confirmations.verify(minted.id, "place_order", {**ORDER, CONFIRMATION_ARGUMENT: minted.id})
    with pytest.raises(ConfirmationError, match="already used"):
        confirmations.verify(minted.id, "place_order", ORDER)


def test_argument_order_does_not_matter_but_values_do():
    confirmations = Confirmations(clock=Clock())
    minted = confirmations.mint("place_order", ORDER)
    with pytest.raises(ConfirmationError, match="another tool or other arguments"):
        confirmations.verify(minted.id, "place_order", {**ORDER, "quantity": "5"})
    with pytest.raises(ConfirmationError, match="another tool or other arguments"):
        confirmations.verify(minted.id, "cancel_order", ORDER)
    confirmations.verify(minted.id, "place_order", dict(reversed(list(ORDER.items()))))


def test_expiry():
    clock = Clock()
    confirmations = Confirmations(ttl_seconds=60, clock=clock)
    minted = confirmations.mint("place_order", ORDER)
    clock.now += 61
    with pytest.raises(ConfirmationError, match="expired 1 s ago"):
        confirmations.verify(minted.id, "place_order", ORDER)


def test_tampered_foreign_and_malformed_ids_are_refused():
    clock = Clock()
    ours, theirs = Confirmations(clock=clock), Confirmations(clock=clock)
    minted = ours.mint("place_order", ORDER)
    _, expiry, nonce, mac = minted.id.split(".")
    longer = f"cf1.{int(expiry) + 3600}.{nonce}.{mac}"  # a later expiry breaks the MAC
    for bad in (longer, f"cf1.{expiry}.{nonce}.{mac[:-1]}A" if mac[-1] != "A" else f"cf1.{expiry}.{nonce}.{mac[:-1]}B"):
        with pytest.raises(ConfirmationError, match="does not confirm this call"):
            ours.verify(bad, "place_order", ORDER)
    with pytest.raises(ConfirmationError, match="does not confirm this call"):
        theirs.verify(minted.id, "place_order", ORDER)  # another process's secret
    for bad in ("", "cf1.x.y.z", "nope", None, 5, "cf1." + "9" * 300):
        with pytest.raises(ConfirmationError, match=CONFIRMATION_ARGUMENT):
            ours.verify(bad, "place_order", ORDER)
    ours.verify(minted.id, "place_order", ORDER)  # the refusals spent nothing


def test_shared_secret_lets_replicas_verify_each_other():
    secret = b"0123456789abcdef0123456789abcdef"
    a, b = Confirmations(secret, clock=Clock()), Confirmations(secret, clock=Clock())
    b.verify(a.mint("place_order", ORDER).id, "place_order", ORDER)


def test_bad_settings_and_arguments_are_named():
    with pytest.raises(InvalidInputError, match="at least 16"):
        Confirmations(b"short")
    with pytest.raises(InvalidInputError, match="ttl 0"):
        Confirmations(ttl_seconds=0)
    with pytest.raises(InvalidInputError, match="not plain JSON"):
        arguments_hash({"price": float("nan")})
