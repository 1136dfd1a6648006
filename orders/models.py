"""Orders and their lines; names and prices are snapshots taken at purchase."""

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import F, Q

from orders.enums import IdempotencyState, OrderStatus

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
    # The payment gateway's ids: what a refund (or a support call) refers to.
    # Database defaults too: the demo seed COPYs orders without these columns.
    payment_charge_id = models.CharField(
        max_length=128, blank=True, default="", db_default=""
    )
    refund_id = models.CharField(max_length=128, blank=True, default="", db_default="")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The latest rendered invoice PDF (a media storage name), "" until the
    # ``orders.render_invoice`` job has made one. Database defaults for the
    # demo seed's COPY, as above.
    invoice_path = models.CharField(
        max_length=255, blank=True, default="", db_default=""
    )
    invoice_generated_at = models.DateTimeField(null=True, blank=True)
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
            # Exports read whole days of created_at; rows arrive in that order,
            # so a BRIN index (a few pages) narrows the scan to those days.
            BrinIndex(fields=["created_at"], name="order_created_brin"),
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


class IdempotencyKey(models.Model):
    """One ``Idempotency-Key`` of one user: the claim, then the stored answer.

    The row is committed (``in_progress``) before the order's transaction
    starts, so a concurrent duplicate sees it; the order's transaction turns it
    ``completed`` with the answer. ``claim`` changes whenever an abandoned
    claim is taken over, so a stale attempt can no longer complete it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="idempotency_keys",
        db_index=False,  # covered by the unique constraint
    )
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(
        max_length=16,
        choices=IdempotencyState.choices,
        default=IdempotencyState.IN_PROGRESS,
    )
    claim = models.UUIDField(default=uuid.uuid4)
    claimed_at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    order = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # looked up by (user, key) only
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], name="idempotency_key_user_key_uniq"
            ),
            models.CheckConstraint(
                condition=Q(state=IdempotencyState.IN_PROGRESS)
                | Q(response_status__isnull=False),
                name="idempotency_key_completed_has_answer",
            ),
        ]
        indexes = [
            # The purge deletes by age.
            models.Index(fields=["created_at"], name="idempotency_key_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


class DailySales(models.Model):
    """Paid sales of one product on one day (in ``TIME_ZONE``), rebuilt whole.

    Written only by ``orders.services.analytics.sales_aggregate``, which
    recomputes entire days from the orders table, so a cancellation after
    payment simply drops out of its day on the next run. Category and seller
    figures are sums over these rows; dashboards never scan orders. Derived
    data, so its foreign keys cascade: it never blocks deleting what it counts.
    """

    date = models.DateField()
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # covered by the unique constraint
    )
    category = models.ForeignKey(
        "catalog.Category", on_delete=models.CASCADE, related_name="+"
    )
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # covered by daily_sales_seller_date_idx
    )
    currency = models.CharField(max_length=3, default="USD")
    orders = models.PositiveIntegerField()
    units = models.PositiveIntegerField()
    revenue = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["date", "product", "currency"],
                name="daily_sales_day_product_uniq",
            ),
        ]
        indexes = [
            # A seller's dashboard reads their last 30 days.
            models.Index(fields=["seller", "date"], name="daily_sales_seller_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.date} product {self.product_id}: {self.units}"


class SellerDailySales(models.Model):
    """Paid sales of one seller on one day, per currency, rebuilt with
    ``DailySales`` by the same run.

    Its own table because an order holding two of a seller's products is one
    order, not two: ``orders`` counts distinct orders, which no sum over the
    per-product rows can give.
    """

    date = models.DateField()
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # covered by the unique constraint
    )
    currency = models.CharField(max_length=3)
    orders = models.PositiveIntegerField()
    units = models.PositiveIntegerField()
    revenue = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "date", "currency"],
                name="seller_daily_sales_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["date"], name="seller_daily_sales_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.date} seller {self.seller_id}: {self.orders} orders"


class OrderExport(models.Model):
    """One CSV export of order lines, built in the background for accountants.

    Asked for in the admin or with ``manage.py export_orders``; the
    ``orders.export_csv`` job (BATCH: off-peak unless forced) writes the file
    to media storage and sets ``path``, ``rows`` and ``finished_at``. A
    finished export is a snapshot: it is never rebuilt, so what was downloaded
    stays what is offered.
    """

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Whole days in TIME_ZONE, both included, of the orders' created_at.
    date_from = models.DateField()
    date_to = models.DateField()
    # Only orders in this status; "" exports every status.
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, blank=True, default=""
    )
    forced = models.BooleanField(default=False)
    # Job retention may drop the job; a finished export keeps its file.
    job = models.ForeignKey(
        "jobs.JobRecord",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    path = models.CharField(max_length=255, blank=True)  # media storage name
    rows = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(date_from__lte=F("date_to")),
                name="order_export_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"Export {self.pk}: {self.date_from} to {self.date_to}"

    @property
    def ready(self) -> bool:
        return self.finished_at is not None and bool(self.path)
