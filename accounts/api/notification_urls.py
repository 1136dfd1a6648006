from django.urls import path

from accounts.api import notification_views as views

urlpatterns = [
    path("", views.NotificationListApi.as_view(), name="notifications"),
    path(
        "unread-count/",
        views.NotificationUnreadCountApi.as_view(),
        name="notifications-unread-count",
    ),
    path(
        "read-all/",
        views.NotificationReadAllApi.as_view(),
        name="notifications-read-all",
    ),
    path(
        "preferences/",
        views.NotificationPreferencesApi.as_view(),
        name="notifications-preferences",
    ),
    path(
        "unsubscribe/",
        views.UnsubscribeApi.as_view(),
        name="notifications-unsubscribe",
    ),
    path(
        "<int:notification_id>/read/",
        views.NotificationReadApi.as_view(),
        name="notification-read",
    ),
]
