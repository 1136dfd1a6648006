"""/api/notifications/: the user's notifications, preferences, unsubscribe.

An in-app notification is written in the transaction of the event that caused
it (``accounts.services.notify``), so these reads show it as soon as that
transaction commits; nothing here is cached (``private, no-store``).
"""

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors, services
from accounts.api import notification_serializers as s
from accounts.api.views import PrivateApi, PublicApi
from accounts.preferences import preferences_as_dict
from config.api.pagination import NewestFirstPagination


class NotificationListApi(PrivateApi):
    pagination_class = NewestFirstPagination

    @extend_schema(responses=s.NotificationOutput(many=True))
    def get(self, request: Request) -> Response:
        notifications = selectors.notification_list_for_user(user=request.user)
        return self.paginated(notifications, s.NotificationOutput)


class NotificationUnreadCountApi(PrivateApi):
    @extend_schema(responses=s.UnreadCountOutput)
    def get(self, request: Request) -> Response:
        return Response(
            {"unread": selectors.notification_unread_count(user=request.user)}
        )


class NotificationReadApi(PrivateApi):
    @extend_schema(request=None, responses=s.NotificationOutput)
    def post(self, request: Request, notification_id: int) -> Response:
        notification = services.notification_mark_read(
            user=request.user, notification_id=notification_id
        )
        if notification is None:
            raise Http404
        return Response(s.NotificationOutput(notification).data)


class NotificationReadAllApi(PrivateApi):
    @extend_schema(request=None, responses=s.ReadAllOutput)
    def post(self, request: Request) -> Response:
        count = services.notifications_mark_all_read(user=request.user)
        return Response({"marked_read": count})


class NotificationPreferencesApi(PrivateApi):
    @extend_schema(responses=s.PreferencesOutput)
    def get(self, request: Request) -> Response:
        prefs = selectors.notification_preferences_get(user=request.user)
        return Response(preferences_as_dict(prefs))

    @extend_schema(request=s.PreferencesInput, responses=s.PreferencesOutput)
    def put(self, request: Request) -> Response:
        data = self.input(s.PreferencesInput, request)
        prefs = services.preferences_update(user=request.user, values=data)
        return Response(preferences_as_dict(prefs))


TOKEN = OpenApiParameter("token", str, required=True, description="From the email")


class UnsubscribeApi(PublicApi):
    """One-click unsubscribe (RFC 8058): the link (GET) and the mail client's
    ``List-Unsubscribe=One-Click`` POST do the same; the body is not read."""

    def _unsubscribe(self, request: Request) -> Response:
        token = str(request.query_params.get("token", ""))[:2048]
        _, category = services.email_unsubscribe(token=token)
        return Response(
            {"unsubscribed": True, "channel": "email", "category": category}
        )

    @extend_schema(parameters=[TOKEN], responses=s.UnsubscribeOutput)
    def get(self, request: Request, *args: Any) -> Response:
        return self._unsubscribe(request)

    @extend_schema(parameters=[TOKEN], request=None, responses=s.UnsubscribeOutput)
    def post(self, request: Request, *args: Any) -> Response:
        return self._unsubscribe(request)
