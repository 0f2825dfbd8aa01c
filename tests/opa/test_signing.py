"""Known-answer vectors from the API reference (section 1.6), and the verifier's refusals."""

import pytest

from kiosk.opa import signing

KEY, SECRET, NONCE, EPOCH = "kiosk_test_key", "kiosk_test_secret", "a1b2c3d4", 1700000000
B1_BODY = (
    '{"merchantPaymentId":"KIOSK-0001","amount":{"amount":500,"currency":"JPY"},'
    '"codeType":"ORDER_QR","orderDescription":"Coffee","isAuthorization":false,'
    '"requestedAt":1700000000}'
)
JSON_CT = "application/json;charset=UTF-8"


def test_official_doc_vector_a() -> None:
    body = (
        '{"sampleRequestBodyKey1":"sampleRequestBodyValue1",'
        '"sampleRequestBodyKey2":"sampleRequestBodyValue2"}'
    )
    ct = "application/json;charset=UTF-8;"
    assert signing.body_hash(ct, body) == "1j0FnY4flNp5CtIKa7x9MQ=="
    header = signing.auth_header(
        api_key="APIKeyGenerated",
        api_secret="APIKeySecretGenerated",
        method="POST",
        path="/v2/codes",
        nonce="acd028",
        epoch=1579843452,
        content_type=ct,
        body=body,
    )
    assert header == (
        "hmac OPA-Auth:APIKeyGenerated:NW1jKIMnzR7tEhMWtcJcaef+nFVBt7jjAGcVuxHhchc="
        ":acd028:1579843452:1j0FnY4flNp5CtIKa7x9MQ=="
    )


def test_kiosk_vector_b1_post() -> None:
    assert signing.body_hash(JSON_CT, B1_BODY) == "GiDGAZpvCtdAhadIBzTCRQ=="
    assert signing.string_to_sign(
        "/v2/codes", "POST", NONCE, EPOCH, JSON_CT, "GiDGAZpvCtdAhadIBzTCRQ=="
    ) == (
        "/v2/codes\nPOST\na1b2c3d4\n1700000000\napplication/json;charset=UTF-8\n"
        "GiDGAZpvCtdAhadIBzTCRQ=="
    )
    header = signing.auth_header(
        api_key=KEY,
        api_secret=SECRET,
        method="POST",
        path="/v2/codes",
        nonce=NONCE,
        epoch=EPOCH,
        content_type=JSON_CT,
        body=B1_BODY,
    )
    assert header == (
        "hmac OPA-Auth:kiosk_test_key:3y8WOcg3+qoab/IkK3xg0n/8MeCLfPqx96lpqHThHyk="
        ":a1b2c3d4:1700000000:GiDGAZpvCtdAhadIBzTCRQ=="
    )


@pytest.mark.parametrize(
    ("method", "path", "expected_mac"),
    [
        ("GET", "/v2/codes/payments/KIOSK-0001", "HQTzUeDdC+a6N8nphazk36XfzjbZebv3Tx69CyHlZKo="),
        ("DELETE", "/v2/codes/04-abcdEFGH12345678", "CA3hao28HOloaPGgyKDHKNdZlwYrsrp8YM5TcyinUvM="),
    ],
)
def test_kiosk_vectors_b2_b3_without_body(method: str, path: str, expected_mac: str) -> None:
    header = signing.auth_header(
        api_key=KEY,
        api_secret=SECRET,
        method=method,
        path=path,
        nonce=NONCE,
        epoch=EPOCH,
        content_type=JSON_CT,  # ignored: no body means empty/empty
    )
    assert header == f"hmac OPA-Auth:{KEY}:{expected_mac}:{NONCE}:{EPOCH}:empty"


def test_query_string_is_not_signed() -> None:
    with_query = signing.string_to_sign(
        "/v2/refunds/R1?paymentId=1", "GET", "n", 1, "empty", "empty"
    )
    assert with_query == signing.string_to_sign("/v2/refunds/R1", "GET", "n", 1, "empty", "empty")


def _verify(header: str, *, body: str = B1_BODY, now: int = EPOCH, ct: str = JSON_CT) -> None:
    signing.verify(
        header=header,
        secret_for_key={KEY: SECRET},
        method="POST",
        path="/v2/codes",
        content_type_header=ct,
        body=body,
        now_epoch=now,
    )


def _b1_header() -> str:
    return signing.auth_header(
        api_key=KEY,
        api_secret=SECRET,
        method="POST",
        path="/v2/codes",
        nonce=NONCE,
        epoch=EPOCH,
        content_type=JSON_CT,
        body=B1_BODY,
    )


def test_verify_accepts_a_good_request_within_skew() -> None:
    _verify(_b1_header(), now=EPOCH + 120)
    _verify(_b1_header(), now=EPOCH - 120)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"body": B1_BODY.replace("500", "501")}, "body hash"),
        ({"now": EPOCH + 121}, "epoch"),
        ({"ct": "application/json"}, "body hash"),
    ],
)
def test_verify_refuses_tampering(kwargs: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        _verify(_b1_header(), **kwargs)  # type: ignore[arg-type]


def test_verify_refuses_wrong_key_and_wrong_mac_without_leaking_the_secret() -> None:
    bad_key = _b1_header().replace(KEY, "other_key")
    with pytest.raises(ValueError, match="unknown API key") as unknown:
        _verify(bad_key)
    bad_mac = _b1_header().replace("3y8W", "3y8X")
    with pytest.raises(ValueError, match="signature") as mismatch:
        _verify(bad_mac)
    for error in (unknown.value, mismatch.value):
        assert SECRET not in str(error)


@pytest.mark.parametrize("header", ["Bearer x", "hmac OPA-Auth:a:b:c", "hmac OPA-Auth:a:b:c:x:e"])
def test_parse_refuses_malformed_headers(header: str) -> None:
    with pytest.raises(ValueError):
        signing.parse_auth_header(header)
