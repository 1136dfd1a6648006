from django.apps import AppConfig


class OrdersConfig(AppConfig):
    """Orders, payments and the order lifecycle."""

    name = "orders"
