"""Django's login (admin, browsable API) under the same lockout as the API."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts import clock
from accounts.client import client_from_request
from accounts.exceptions import AccountsError, InvalidCredentials
from accounts.models import User
from accounts.services import credentials_check, login_succeeded


class LockoutModelBackend(ModelBackend):
    """``ModelBackend`` whose password check goes through ``credentials_check``:
    counted, audited, refused while the account is locked or the address is
    throttled (``PermissionDenied`` stops Django trying other backends)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        client = client_from_request(request)
        now = clock.now()
        try:
            user = credentials_check(
                email=username, password=password, client=client, now=now
            )
        except InvalidCredentials:
            return None
        except AccountsError:
            raise PermissionDenied from None
        if not self.user_can_authenticate(user):
            return None
        login_succeeded(user=user, client=client, now=now)
        return user
