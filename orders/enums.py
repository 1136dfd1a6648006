"""Choices used by orders."""

from django.db import models


class OrderStatus(models.TextChoices):
    """The order lifecycle: pending → paid → shipped → delivered, or cancelled."""

    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


class IdempotencyState(models.TextChoices):
    """An ``Idempotency-Key``: claimed by a running request, then answered."""

    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
