"""/api/auth/: one thin view per operation; the services decide."""

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import clock, selectors, services
from accounts.api import serializers as s
from accounts.authentication import session_id_of
from accounts.client import client_from_request
from accounts.exceptions import AuthError, FieldErrors, Throttled
from config.api import views as config_views
from config.api.pagination import NewestFirstPagination

NO_CONTENT = OpenApiResponse(description="No content")
ACCEPTED = OpenApiResponse(description="Accepted (whatever the email)")


class AccountsApi(config_views.PrivateApi):
    """Base: user data is never cached; accounts errors in API.md's shapes."""

    throttle_classes: list[Any] = []

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, Throttled):
            exc = exceptions.Throttled(
                wait=exc.retry_after, detail=exc.detail, code=exc.code
            )
        elif isinstance(exc, FieldErrors):
            exc = exceptions.ValidationError(exc.fields)
        response = super().handle_exception(exc)
        if isinstance(exc, AuthError):
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response


class PublicApi(AccountsApi):
    """Anyone; a stale token in the header must not stop a login."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


class PrivateApi(AccountsApi):
    permission_classes = [IsAuthenticated]


class RegisterApi(PublicApi):
    error_statuses = (429,)

    @extend_schema(request=s.RegisterInput, responses={201: s.RegisterOutput})
    def post(self, request: Request) -> Response:
        data = self.input(s.RegisterInput, request)
        user = services.user_register(
            **data, client=client_from_request(request), now=clock.now()
        )
        return Response(s.RegisterOutput(user).data, status=status.HTTP_201_CREATED)


class VerifyEmailApi(PublicApi):
    error_statuses = (429,)

    @extend_schema(request=s.VerifyEmailInput, responses=s.VerifiedOutput)
    def post(self, request: Request) -> Response:
        data = self.input(s.VerifyEmailInput, request)
        services.email_verify(
            **data, client=client_from_request(request), now=clock.now()
        )
        return Response({"is_verified": True})


class ResendOtpApi(PublicApi):
    error_statuses = (429,)

    @extend_schema(request=s.EmailInput, responses={202: ACCEPTED})
    def post(self, request: Request) -> Response:
        data = self.input(s.EmailInput, request)
        services.otp_resend(
            **data, client=client_from_request(request), now=clock.now()
        )
        return Response(status=status.HTTP_202_ACCEPTED)


class LoginApi(PublicApi):
    error_statuses = (401, 429)

    @extend_schema(request=s.LoginInput, responses=s.TokenPairOutput)
    def post(self, request: Request) -> Response:
        data = self.input(s.LoginInput, request)
        answer = services.user_login(
            **data, client=client_from_request(request), now=clock.now()
        )
        return Response(answer)


class RefreshApi(PublicApi):
    error_statuses = (401, 429)

    @extend_schema(request=s.RefreshInput, responses=s.TokenPairOutput)
    def post(self, request: Request) -> Response:
        data = self.input(s.RefreshInput, request)
        answer = services.session_refresh(
            raw=data["refresh"], client=client_from_request(request), now=clock.now()
        )
        return Response(answer)


class LogoutApi(PrivateApi):
    @extend_schema(request=s.LogoutInput, responses={204: NO_CONTENT})
    def post(self, request: Request) -> Response:
        data = self.input(s.LogoutInput, request)
        services.session_logout(
            user=request.user,
            session_id=session_id_of(request),
            refresh=data.get("refresh"),
            client=client_from_request(request),
            now=clock.now(),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllApi(PrivateApi):
    @extend_schema(request=None, responses={204: NO_CONTENT})
    def post(self, request: Request) -> Response:
        services.session_logout_all(
            user=request.user, client=client_from_request(request), now=clock.now()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionListApi(PrivateApi):
    pagination_class = NewestFirstPagination

    @extend_schema(responses=s.SessionOutput(many=True))
    def get(self, request: Request) -> Response:
        sessions = selectors.session_list_for_user(user=request.user, now=clock.now())
        context = {"session_id": session_id_of(request)}
        return self.paginated(sessions, s.SessionOutput, context=context)


class SessionRevokeApi(PrivateApi):
    @extend_schema(request=None, responses={204: NO_CONTENT})
    def delete(self, request: Request, session_id: str) -> Response:
        found = services.session_revoke(
            user=request.user,
            session_id=session_id,
            client=client_from_request(request),
            now=clock.now(),
        )
        if not found:
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(PrivateApi):
    error_statuses = {"delete": (429,)}

    @extend_schema(responses=s.ProfileOutput)
    def get(self, request: Request) -> Response:
        user = selectors.user_get(user_id=request.user.pk)
        if user is None:
            raise exceptions.NotAuthenticated()
        return Response(s.ProfileOutput(user).data)

    @extend_schema(request=s.ProfileUpdateInput, responses=s.ProfileOutput)
    def patch(self, request: Request) -> Response:
        data = self.input(s.ProfileUpdateInput, request)
        user = services.user_update(
            user=request.user,
            first_name=data.get("first_name"),
            last_name=data.get("last_name"),
        )
        return Response(s.ProfileOutput(user).data)

    @extend_schema(request=s.PasswordConfirmInput, responses={204: NO_CONTENT})
    def delete(self, request: Request) -> Response:
        data = self.input(s.PasswordConfirmInput, request)
        services.user_delete(
            user=request.user,
            password=data["password"],
            client=client_from_request(request),
            now=clock.now(),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class UnlockApi(PublicApi):
    error_statuses = (429,)

    @extend_schema(request=s.UnlockInput, responses=s.DetailOutput)
    def post(self, request: Request) -> Response:
        data = self.input(s.UnlockInput, request)
        services.account_unlock(
            token=data["token"], client=client_from_request(request), now=clock.now()
        )
        return Response({"detail": "Sign-in is unlocked."})


class PasswordChangeApi(PrivateApi):
    error_statuses = (429,)

    @extend_schema(request=s.PasswordChangeInput, responses=s.DetailOutput)
    def post(self, request: Request) -> Response:
        data = self.input(s.PasswordChangeInput, request)
        services.password_change(
            user=request.user,
            session_id=session_id_of(request),
            **data,
            client=client_from_request(request),
            now=clock.now(),
        )
        return Response({"detail": "Password changed; other sessions have ended."})


class PasswordResetApi(PublicApi):
    error_statuses = (429,)

    @extend_schema(request=s.EmailInput, responses={202: ACCEPTED})
    def post(self, request: Request) -> Response:
        data = self.input(s.EmailInput, request)
        services.password_reset_request(
            **data, client=client_from_request(request), now=clock.now()
        )
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(PublicApi):
    error_statuses = (429,)

    @extend_schema(request=s.PasswordResetConfirmInput, responses=s.DetailOutput)
    def post(self, request: Request) -> Response:
        data = self.input(s.PasswordResetConfirmInput, request)
        services.password_reset_confirm(
            **data, client=client_from_request(request), now=clock.now()
        )
        return Response({"detail": "Password reset; every session has ended."})
