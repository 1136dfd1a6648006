from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """Products and categories, served from a response cache."""

    name = "catalog"
