"""The client's error tree mapped onto what the machine may do next."""

from __future__ import annotations

import pytest

from kiosk.engine.effects import failure_of
from kiosk.opa import errors
from kiosk.sale.model import Failure


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (errors.RequestTimeout("t"), Failure.UNKNOWN),
        (errors.ConnectionLost("c"), Failure.UNKNOWN),
        (errors.ServerError("s", status=500), Failure.UNKNOWN),
        (errors.UnreadableResponse("u", status=502), Failure.UNKNOWN),
        (errors.Maintenance("m", status=503), Failure.UNKNOWN),  # unknown wins over try-later
        (errors.RateLimited("r", status=429), Failure.TRY_LATER),
        (errors.NotConnected("n"), Failure.TRY_LATER),
        (errors.AuthError("a", status=401), Failure.AUTH),
        (errors.NotFound("nf", status=404), Failure.NOT_FOUND),
        (errors.AlreadyPaid("p", status=400), Failure.ALREADY_PAID),
        (errors.Duplicate("d", status=400), Failure.DUPLICATE),
        (errors.NotReversible("nr", status=400), Failure.NOT_REVERSIBLE),
        (errors.OperationNotAllowed("x", code="ALREADY_CAPTURED"), Failure.ALREADY_CAPTURED),
        (errors.OperationNotAllowed("x", code="ORDER_EXPIRED"), Failure.NOT_ALLOWED),
        (errors.TransactionFailed("tf", status=500), Failure.NOT_ALLOWED),
        (errors.InvalidParams("i", status=400), Failure.INVALID),
        (KeyError("codeId"), Failure.UNKNOWN),  # an answer we could not read is never "no"
    ],
)
def test_failure_of(error: Exception, expected: Failure) -> None:
    assert failure_of(error) is expected
