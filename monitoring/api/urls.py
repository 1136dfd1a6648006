from django.urls import path

from monitoring.api import views

urlpatterns = [
    path("cache/warm/", views.CacheWarmApi.as_view(), name="performance-cache-warm"),
    path(
        "cache/invalidate/",
        views.CacheInvalidateApi.as_view(),
        name="performance-cache-invalidate",
    ),
    path("summary/", views.SummaryApi.as_view(), name="performance-summary"),
    path("trends/", views.TrendsApi.as_view(), name="performance-trends"),
    path("dashboard/", views.DashboardApi.as_view(), name="performance-dashboard"),
    path("queries/", views.QueriesApi.as_view(), name="performance-queries"),
    path("realtime/", views.RealtimeApi.as_view(), name="performance-realtime"),
    path("cache/", views.CacheReportApi.as_view(), name="performance-cache"),
    path("jobs/", views.JobsReportApi.as_view(), name="performance-jobs"),
    path(
        "jobs/failed/",
        views.FailedJobListApi.as_view(),
        name="performance-jobs-failed",
    ),
    path(
        "health/detailed/",
        views.DetailedHealthApi.as_view(),
        name="performance-health-detailed",
    ),
    path("jobs/retry/", views.JobRetryApi.as_view(), name="performance-jobs-retry"),
    path("jobs/clear/", views.JobClearApi.as_view(), name="performance-jobs-clear"),
    path(
        "metrics/reset/",
        views.MetricsResetApi.as_view(),
        name="performance-metrics-reset",
    ),
]
