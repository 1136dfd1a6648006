"""Choices used by the catalog."""

from django.db import models


class Currency(models.TextChoices):
    """ISO 4217 currencies the shop sells in."""

    USD = "USD", "US dollar"
    EUR = "EUR", "Euro"
    GBP = "GBP", "Pound sterling"
