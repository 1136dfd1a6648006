"""Input and output shapes of the orders API (API.md, Orders)."""

from typing import Any

from rest_framework import serializers

from config.api.serializers import StrictSerializer
from orders.countries import ISO_3166_ALPHA2
from orders.enums import OrderStatus
from orders.models import Order, OrderItem
from orders.services.placement import Line, lines_merge

MAX_LINES = 50
MAX_QUANTITY = 100
MAX_ID = 2**63 - 1


def _money() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)


# Field instances the hand-written representations below format with, so
# money and times come out exactly as the declared fields would give them.
_MONEY = _money()
_DATETIME = serializers.DateTimeField(read_only=True)


def _moment(value: Any) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


class OrderLineInput(StrictSerializer):
    product_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class ShippingAddressInput(StrictSerializer):
    name = serializers.CharField(max_length=100)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    city = serializers.CharField(max_length=100)
    postal_code = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9 -]{0,14}[A-Za-z0-9]$",
        max_length=16,
        error_messages={"invalid": "Enter a valid postal code."},
    )
    country = serializers.CharField(min_length=2, max_length=2)

    def validate_country(self, value: str) -> str:
        code = value.upper()
        if code not in ISO_3166_ALPHA2:
            raise serializers.ValidationError(
                "Enter an ISO 3166-1 alpha-2 country code, e.g. US."
            )
        return code

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("line2"):
            attrs.pop("line2", None)
        return attrs


class OrderCreateInput(StrictSerializer):
    items = serializers.ListField(
        child=OrderLineInput(), min_length=1, max_length=MAX_LINES
    )
    shipping_address = ShippingAddressInput()

    def validate_items(self, value: list[dict[str, int]]) -> list[dict[str, int]]:
        totals = lines_merge([Line(**line) for line in value])
        if any(quantity > MAX_QUANTITY for quantity in totals.values()):
            raise serializers.ValidationError(
                f"At most {MAX_QUANTITY} units of one product per order."
            )
        return value


class OrderPayInput(StrictSerializer):
    payment_method = serializers.ChoiceField(choices=["card"])
    card_token = serializers.CharField(max_length=255)


class OrderStatusInput(StrictSerializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    tracking_number = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["status"] == OrderStatus.SHIPPED and not attrs["tracking_number"]:
            raise serializers.ValidationError(
                {"tracking_number": ["A tracking number is required to ship."]}
            )
        return attrs


class OrderItemOutput(serializers.ModelSerializer):
    unit_price = _money()
    line_total = _money()

    class Meta:
        model = OrderItem
        fields = ["product_id", "name", "unit_price", "quantity", "line_total"]

    def to_representation(self, instance: OrderItem) -> dict[str, Any]:
        """The declared fields, written out: building a ModelSerializer's
        fields costs more than the rest of a line's rendering (a test keeps
        the two identical)."""
        return _line(instance)


def _line(item: OrderItem) -> dict[str, Any]:
    return {
        "product_id": item.product_id,
        "name": item.name,
        "unit_price": _MONEY.to_representation(item.unit_price),
        "quantity": item.quantity,
        "line_total": _MONEY.to_representation(item.line_total),
    }


class OrderOutput(serializers.ModelSerializer):
    items = OrderItemOutput(many=True, read_only=True)
    subtotal = _money()
    shipping = _money()
    total = _money()

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "items",
            "subtotal",
            "shipping",
            "total",
            "currency",
            "shipping_address",
            "tracking_number",
            "paid_at",
            "cancelled_at",
            "created_at",
        ]

    def to_representation(self, instance: Order) -> dict[str, Any]:
        """The declared fields, written out, as for the lines: an order is
        rendered on every placement and every order page (a test keeps this
        identical to DRF's generic rendering)."""
        return {
            "id": instance.pk,
            "number": instance.number,
            "status": instance.status,
            "items": [_line(item) for item in instance.items.all()],
            "subtotal": _MONEY.to_representation(instance.subtotal),
            "shipping": _MONEY.to_representation(instance.shipping),
            "total": _MONEY.to_representation(instance.total),
            "currency": instance.currency,
            "shipping_address": instance.shipping_address,
            "tracking_number": instance.tracking_number,
            "paid_at": _moment(instance.paid_at),
            "cancelled_at": _moment(instance.cancelled_at),
            "created_at": _moment(instance.created_at),
        }


class SellerOrderLineOutput(serializers.ModelSerializer):
    order_id = serializers.IntegerField(read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)
    status = serializers.CharField(source="order.status", read_only=True)
    currency = serializers.CharField(source="order.currency", read_only=True)
    shipping_address = serializers.JSONField(
        source="order.shipping_address", read_only=True
    )
    created_at = serializers.DateTimeField(source="order.created_at", read_only=True)
    unit_price = _money()
    line_total = _money()

    class Meta:
        model = OrderItem
        fields = [
            "id",
            "order_id",
            "order_number",
            "status",
            "product_id",
            "name",
            "unit_price",
            "quantity",
            "line_total",
            "currency",
            "shipping_address",
            "created_at",
        ]


class InvoiceJobOutput(serializers.Serializer):
    job_id = serializers.UUIDField()


class NamedRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()


class TopProductOutput(serializers.Serializer):
    product = NamedRefOutput()
    units = serializers.IntegerField()
    revenue = _money()
    currency = serializers.CharField()


class DailyFigureOutput(serializers.Serializer):
    date = serializers.DateField()
    orders = serializers.IntegerField()
    revenue = _money()


class SellerDashboardOutput(serializers.Serializer):
    currency = serializers.CharField(
        help_text="the currency of revenue_30d and of the daily revenue"
    )
    revenue_30d = _money()
    revenue_by_currency = serializers.DictField(child=_money())
    orders_30d = serializers.IntegerField()
    units_30d = serializers.IntegerField()
    top_products = TopProductOutput(many=True)
    daily = DailyFigureOutput(many=True)


class LeaderboardRowOutput(serializers.Serializer):
    category = NamedRefOutput()
    units = serializers.IntegerField()
    revenue = _money()
    currency = serializers.CharField(help_text="the currency of revenue")
    revenue_by_currency = serializers.DictField(child=_money())
