from django.urls import path

from monitoring.api import views

urlpatterns = [
    path("cache/warm/", views.CacheWarmApi.as_view(), name="performance-cache-warm"),
    path(
        "cache/invalidate/",
        views.CacheInvalidateApi.as_view(),
        name="performance-cache-invalidate",
    ),
]
