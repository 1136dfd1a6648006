from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, JWT sessions and everything about signing in."""

    name = "accounts"
