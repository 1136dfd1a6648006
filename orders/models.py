"""Orders and their lines; names and prices are snapshots taken at purchase."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from orders.enums import OrderStatus

# Order numbers come from this sequence (created in the first migration).
ORDER_NUMBER_SEQUENCE = "orders_order_number_seq"


class Order(models.Model):
    """A buyer's order. ``total = subtotal + shipping`` holds in the database."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,  # covered by order_user_created_idx
    )
    number = models.CharField(max_length=32, unique=True)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    shipping = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    shipping_address = models.JSONField(default=dict)
    tracking_number = models.CharField(max_length=64, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(total=F("subtotal") + F("shipping")), name="order_total_sum"
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0, shipping__gte=0),
                name="order_amounts_non_negative",
            ),
        ]
        indexes = [
            # "My orders, newest first".
            models.Index(
                fields=["user", "-created_at", "-id"], name="order_user_created_idx"
            ),
            # Expiry of unpaid orders scans pending orders by age.
            models.Index(
                fields=["created_at"],
                name="order_pending_created_idx",
                condition=Q(status=OrderStatus.PENDING),
            ),
            # Sales analytics count from paid_at.
            models.Index(
                fields=["paid_at"],
                name="order_paid_at_idx",
                condition=Q(paid_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class OrderItem(models.Model):
    """One line of an order, with the product's name and price at purchase."""

    # Both foreign keys are covered by the composite indexes below.
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.PROTECT,
        related_name="order_items",
        db_index=False,
    )
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_item_quantity_positive"
            ),
            models.UniqueConstraint(
                fields=["order", "product"], name="order_item_one_line_per_product"
            ),
        ]
        indexes = [
            # Sellers list the lines of their products (join through product).
            models.Index(fields=["product", "order"], name="order_item_product_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"

    @property
    def line_total(self):
        return self.unit_price * self.quantity
