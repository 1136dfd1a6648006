from django.urls import path

from accounts.api import views

urlpatterns = [
    path("register/", views.RegisterApi.as_view(), name="auth-register"),
    path("verify-email/", views.VerifyEmailApi.as_view(), name="auth-verify-email"),
    path("resend-otp/", views.ResendOtpApi.as_view(), name="auth-resend-otp"),
    path("login/", views.LoginApi.as_view(), name="auth-login"),
    path("refresh/", views.RefreshApi.as_view(), name="auth-refresh"),
    path("logout/", views.LogoutApi.as_view(), name="auth-logout"),
    path("logout-all/", views.LogoutAllApi.as_view(), name="auth-logout-all"),
    path("sessions/", views.SessionListApi.as_view(), name="auth-sessions"),
    path(
        "sessions/<uuid:session_id>/",
        views.SessionRevokeApi.as_view(),
        name="auth-session-revoke",
    ),
    path("me/", views.MeApi.as_view(), name="auth-me"),
    path("unlock/", views.UnlockApi.as_view(), name="auth-unlock"),
    path(
        "password/change/",
        views.PasswordChangeApi.as_view(),
        name="auth-password-change",
    ),
    path(
        "password/reset/", views.PasswordResetApi.as_view(), name="auth-password-reset"
    ),
    path(
        "password/reset/confirm/",
        views.PasswordResetConfirmApi.as_view(),
        name="auth-password-reset-confirm",
    ),
]
