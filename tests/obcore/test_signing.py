"""Signing and outgoing number formatting (pure functions)."""

from decimal import Decimal

import pytest

from obcore.errors import InvalidInputError
from obcore.signing import encode_params, format_number, sign_ed25519, sign_hmac_sha256

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PAYLOAD = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)


def test_hmac_matches_binance_test_vector():
    assert sign_hmac_sha256(SECRET, PAYLOAD) == (
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )


def test_encode_params_keeps_order_and_reproduces_the_vector_payload():
    params = [
        ("symbol", "LTCBTC"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"),
        ("quantity", "1"), ("price", "0.1"), ("recvWindow", "5000"), ("timestamp", "1499827319559"),
    ]
    assert encode_params(params) == PAYLOAD


def test_encode_params_percent_encodes_json_arrays_and_spaces():
    assert encode_params([("symbols", '["BTCUSDT","ETHUSDT"]')]) == (
        "symbols=%5B%22BTCUSDT%22%2C%22ETHUSDT%22%5D"
    )
    assert encode_params([("a", "x y")]) == "a=x%20y"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.00003, "0.00003"),
        ("1e-05", "0.00001"),
        (Decimal("1E+2"), "100"),
        (100, "100"),
        ("2683.80", "2683.80"),
        (Decimal("0.000000010"), "0.000000010"),
    ],
)
def test_format_number_is_fixed_point(value, expected):
    assert format_number(value) == expected


@pytest.mark.parametrize("value", [-1, "abc", float("nan"), float("inf"), True, None, "1" * 21])
def test_format_number_rejects_bad_values_naming_them(value):
    with pytest.raises(InvalidInputError, match="quantity"):
        format_number(value, "quantity")


def test_ed25519_signature_verifies():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    import base64

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    signature = sign_ed25519(pem, PAYLOAD)
    key.public_key().verify(base64.b64decode(signature), PAYLOAD.encode())  # raises if wrong


def test_ed25519_bad_key_does_not_echo_it():
    with pytest.raises(InvalidInputError) as info:
        sign_ed25519("not-a-key-SECRETVALUE", PAYLOAD)
    assert "SECRETVALUE" not in str(info.value)
