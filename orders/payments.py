"""Payment gateways: the interface orders charge and refund through.

``PAYMENT_GATEWAY`` names the class. Both calls take an idempotency key that
is derived from the order, so a retry after a lost answer (or a crash between
the provider's success and our commit) never charges or refunds twice.
"""

import hashlib
from abc import ABC, abstractmethod
from decimal import Decimal

from django.conf import settings
from django.utils.module_loading import import_string

from orders.exceptions import PaymentDeclined


class PaymentGateway(ABC):
    """A card payment provider. Raises PaymentDeclined when the card is refused
    and PaymentFailed when the provider cannot answer."""

    @abstractmethod
    def charge(
        self, *, amount: Decimal, currency: str, token: str, idempotency_key: str
    ) -> str:
        """Charge ``amount`` to the card behind ``token``; returns the charge id."""

    @abstractmethod
    def refund(self, *, charge_id: str, amount: Decimal, idempotency_key: str) -> str:
        """Refund ``amount`` of a charge; returns the refund id."""


class TestPaymentGateway(PaymentGateway):
    """The default: no network. ``tok_ok`` pays; any other token is declined
    (``tok_declined`` is the documented one). Ids depend on the idempotency
    key only, as a real provider's replay would."""

    __test__ = False  # not a pytest class
    APPROVED_TOKEN = "tok_ok"  # noqa: S105 (a test card, not a secret)

    def charge(
        self, *, amount: Decimal, currency: str, token: str, idempotency_key: str
    ) -> str:
        if token != self.APPROVED_TOKEN:
            raise PaymentDeclined
        if amount <= 0:
            raise PaymentDeclined("Nothing to charge.")
        return f"ch_test_{_digest(idempotency_key)}"

    def refund(self, *, charge_id: str, amount: Decimal, idempotency_key: str) -> str:
        return f"re_test_{_digest(idempotency_key)}"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:24]


def payment_gateway() -> PaymentGateway:
    """A gateway of the configured class (read per call: tests swap it)."""
    return import_string(settings.PAYMENT_GATEWAY)()
