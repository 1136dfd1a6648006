"""The one HTML page accounts serves: where the emailed unlock link lands.

A GET only shows a button; the token is spent by the POST it sends, because
mail scanners and link previews open links on their own and must not use up
the owner's one-time link. The token sits in the URL, so the page sends no
Referer and is never cached.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts import clock, services
from accounts.client import client_from_request
from accounts.exceptions import InvalidUnlockToken, Throttled

MAX_TOKEN_LENGTH = 200


def _page(
    request: HttpRequest, state: str, token: str = "", status: int = 200
) -> HttpResponse:
    response = render(
        request, "accounts/unlock.html", {"state": state, "token": token}, status=status
    )
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_http_methods(["GET", "POST"])
def unlock_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        token = request.GET.get("token", "")[:MAX_TOKEN_LENGTH]
        return _page(request, "confirm" if token else "invalid", token)
    token = request.POST.get("token", "")[:MAX_TOKEN_LENGTH]
    try:
        services.account_unlock(
            token=token, client=client_from_request(request), now=clock.now()
        )
    except InvalidUnlockToken:
        return _page(request, "invalid", status=400)
    except Throttled as exc:
        response = _page(request, "throttled", status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    return _page(request, "done")
