"""Scenario 6, every door: each route of the URL conf is public (listed below
with a reason), for signed-in callers, for sellers, owned by a user, or staff
only, and answers as its class says (API.md, Conventions).

The routes are read from the URL conf, never listed by hand, so a new route
that nobody classified fails ``test_every_door_is_classified_exactly_once``:
doors cannot appear silently.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import IsAdminUser
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.models import Notification, Session, User
from catalog.api.permissions import IsSellerOrStaff
from catalog.api.permissions import IsStaff as CatalogIsStaff
from jobs.enums import Priority
from jobs.models import JobRecord
from monitoring.models import Report, ReportKind
from monitoring.reports.figures import sales_figures
from orders.api.permissions import IsSeller
from orders.api.permissions import IsStaff as OrdersIsStaff
from orders.models import OrderExport
from tests.accounts.conftest import bearer, login
from tests.factories import (
    DEFAULT_PASSWORD,
    CategoryFactory,
    OrderFactory,
    OrderItemFactory,
    ProductFactory,
    SellerFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
STAFF_PERMISSIONS = {IsAdminUser, CatalogIsStaff, OrdersIsStaff}
SELLER_PERMISSIONS = {IsSeller, IsSellerOrStaff}
EXTERNAL = {"REMOTE_ADDR": "203.0.113.9"}


@dataclass(frozen=True)
class Door:
    """One method of one route: ``key`` is ``"GET api/orders/<int:order_id>/"``."""

    route: str
    method: str
    callback: Callable[..., Any]

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.route}"

    @property
    def view_class(self) -> type | None:
        return getattr(self.callback, "cls", None) or getattr(
            self.callback, "view_class", None
        )

    @property
    def permissions(self) -> set[type]:
        """The permission classes DRF applies to this method (the catalog's
        views choose them per handler)."""
        cls = self.view_class
        if cls is None or not issubclass(cls, APIView):
            return set()
        view = cls()
        view.request = SimpleNamespace(method=self.method.upper())
        view.args, view.kwargs = (), {}
        return {type(permission) for permission in view.get_permissions()}


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def all_doors() -> list[Door]:
    """Every (route, method) of the URL conf; a function view counts as GET."""
    doors = []
    for route, callback in _walk(get_resolver().url_patterns):
        cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        allowed = getattr(cls, "http_method_names", ())
        methods = [m for m in METHODS if hasattr(cls, m) and m in allowed]
        for method in methods or ["get"]:
            doors.append(Door(route, method, callback))
    return doors


DOORS = all_doors()


# --- The classification ---------------------------------------------------------

# Anyone may knock; each with the reason it is open.
PUBLIC: dict[str, str] = {
    "GET health": "liveness probe (API.md: anyone)",
    "GET ready": "readiness probe (API.md: anyone)",
    "GET unlock": "the emailed unlock link's page (its POST spends the token); "
    "the token is the credential",
    "GET api/": "API root: links only",
    "GET api/schema/": "the OpenAPI schema describes the public contract",
    "GET api/docs/": "Swagger UI over the schema",
    "GET api/categories/": "catalog read (API.md: anyone)",
    "GET api/products/": "catalog read (API.md: anyone)",
    "GET api/products/<str:lookup>/": "catalog read; inactive ones 404 but to staff "
    "and their seller",
    "GET api/catalog/popular/": "catalog read (API.md: anyone)",
    "GET api/catalog/leaderboard/": "catalog read (API.md: anyone)",
    "POST api/auth/register/": "sign-up",
    "POST api/auth/verify-email/": "the emailed code is the credential",
    "POST api/auth/resend-otp/": "always 202, no account enumeration",
    "POST api/auth/login/": "sign-in",
    "POST api/auth/refresh/": "the refresh token is the credential",
    "POST api/auth/unlock/": "the emailed unlock token is the credential",
    "POST api/auth/password/reset/": "always 202, no account enumeration",
    "POST api/auth/password/reset/confirm/": "the emailed code is the credential",
    "GET api/notifications/unsubscribe/": "one-click unsubscribe; signed token",
    "POST api/notifications/unsubscribe/": "one-click unsubscribe; signed token",
    "GET api-auth/login/": "the browsable API's sign-in form",
    "POST api-auth/login/": "the browsable API's sign-in (obeys the lockout)",
    "PUT api-auth/login/": "Django's form view takes PUT as the same sign-in",
    "POST api-auth/logout/": "signing out needs no rights",
    "GET admin/login/": "the admin's sign-in form (obeys the lockout)",
    "GET admin/logout/": "Django answers 405; signing out needs no rights",
    "GET ^api/": "the JSON 404 for unknown API paths",
    "GET ^media/(?P<path>.+)$": "product images; invoices and exports there sit "
    "under keyed-hash names nobody can guess, and directories are not listed",
}

# Signed-in callers, on their own data only (no object in the path).
SIGNED_IN: dict[str, str] = {
    "GET api/orders/": "the caller's orders",
    "POST api/orders/": "places an order for the caller",
    "POST api/auth/logout/": "ends the caller's session",
    "POST api/auth/logout-all/": "ends the caller's sessions",
    "GET api/auth/sessions/": "the caller's sessions",
    "GET api/auth/me/": "the caller's profile",
    "PATCH api/auth/me/": "the caller's profile",
    "DELETE api/auth/me/": "the caller's account (password required)",
    "POST api/auth/password/change/": "the caller's password",
    "GET api/notifications/": "the caller's notifications",
    "GET api/notifications/unread-count/": "the caller's notifications",
    "POST api/notifications/read-all/": "the caller's notifications",
    "GET api/notifications/preferences/": "the caller's preferences",
    "PUT api/notifications/preferences/": "the caller's preferences",
}


@dataclass(frozen=True)
class Owned:
    """An object route: ``make(owner)`` builds the owner's object and returns
    the path's parameters; ``owner_status`` is the owner's answer to a GET."""

    make: Callable[[User], dict[str, Any]]
    owner_status: int | None = None
    owner_code: str | None = None


def _order(owner: User) -> dict[str, Any]:
    order = OrderFactory(user=owner)
    OrderItemFactory(order=order)
    return {"order_id": order.pk}


def _job(owner: User) -> dict[str, Any]:
    job = JobRecord.objects.create(
        type="email.send", priority=Priority.MEDIUM, user=owner
    )
    return {"job_id": job.pk}


def _session(owner: User) -> dict[str, Any]:
    response = login(APIClient(), owner.email, DEFAULT_PASSWORD)
    assert response.status_code == 200, response.content
    return {"session_id": response.json()["session_id"]}


def _notification(owner: User) -> dict[str, Any]:
    note = Notification.objects.create(user=owner, kind="order.paid", title="Paid")
    return {"notification_id": note.pk}


def _hidden_product(owner: User) -> dict[str, Any]:
    # Active products are public (another seller's write is then a 403 that
    # leaks nothing, see test_writing_a_public_product_of_another_seller_is_403);
    # an inactive one exists only for its seller and staff.
    return {"lookup": str(ProductFactory(seller=owner, is_active=False).pk)}


OWNED: dict[str, Owned] = {
    "GET api/orders/<int:order_id>/": Owned(_order, owner_status=200),
    "POST api/orders/<int:order_id>/pay/": Owned(_order),
    "POST api/orders/<int:order_id>/cancel/": Owned(_order),
    "GET api/orders/<int:order_id>/invoice/": Owned(
        _order, owner_status=404, owner_code="invoice_not_ready"
    ),
    "POST api/orders/<int:order_id>/invoice/": Owned(_order),
    "GET api/jobs/<uuid:job_id>/": Owned(_job, owner_status=200),
    "DELETE api/auth/sessions/<uuid:session_id>/": Owned(_session),
    "POST api/notifications/<int:notification_id>/read/": Owned(_notification),
    "PUT api/products/<str:lookup>/": Owned(_hidden_product),
    "PATCH api/products/<str:lookup>/": Owned(_hidden_product),
    "DELETE api/products/<str:lookup>/": Owned(_hidden_product),
    "POST api/products/<str:lookup>/images/": Owned(_hidden_product),
}

# Guarded by a token (or loopback), not by a user: see test_metrics_door.
TOKEN_GUARDED = {"GET metrics": "Prometheus scrapes with METRICS_TOKEN"}

# Staff doors with parameters: how to fill them (staff must get 2xx on GET).
STAFF_PARAMS: dict[str, Callable[[], dict[str, Any]]] = {
    "PATCH api/categories/<int:category_id>/": lambda: {
        "category_id": CategoryFactory().pk
    },
    "DELETE api/categories/<int:category_id>/": lambda: {
        "category_id": CategoryFactory().pk
    },
    "POST api/orders/<int:order_id>/status/": lambda: _order(UserFactory()),
}


def is_admin_html(door: Door) -> bool:
    return door.route.startswith("admin/") and door.key not in PUBLIC


def is_staff_api(door: Door) -> bool:
    return bool(door.permissions & STAFF_PERMISSIONS)


def is_seller_api(door: Door) -> bool:
    return not is_staff_api(door) and bool(door.permissions & SELLER_PERMISSIONS)


def classes_of(door: Door) -> list[str]:
    tables = {
        "public": door.key in PUBLIC,
        "signed-in": door.key in SIGNED_IN,
        "owned": door.key in OWNED,
        "token": door.key in TOKEN_GUARDED,
        "staff": is_staff_api(door) or is_admin_html(door),
        "seller": is_seller_api(door),
    }
    return [name for name, member in tables.items() if member]


def path_for(door: Door, params: dict[str, Any] | None = None) -> str:
    """The request path of ``door`` with ``params`` filled in."""
    route = door.route
    for name, value in (params or {}).items():
        start = route.index("<")
        end = route.index(">", start)
        assert route[start + 1 : end].split(":")[-1] == name, (route, name)
        route = f"{route[:start]}{value}{route[end + 1 :]}"
    assert "<" not in route, f"{door.key} needs parameters"
    return "/" + route


def doors_of(kind: str) -> list[Door]:
    return [door for door in DOORS if kind in classes_of(door)]


def by_key(doors: list[Door]) -> list[Any]:
    return [pytest.param(door, id=door.key) for door in doors]


def api_call(client: Any, door: Door, path: str, **extra: Any) -> Any:
    body = {} if door.method in ("post", "put", "patch") else None
    return getattr(client, door.method)(path, body, format="json", **extra)


def jwt_client(user: User) -> APIClient:
    """A client with a real access token of ``user`` (the login endpoint)."""
    response = login(APIClient(), user.email, DEFAULT_PASSWORD)
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(**bearer(response.json()["access"]))
    return client


# --- No door is unclassified ----------------------------------------------------


def test_every_door_is_classified_exactly_once():
    # when every route and method of the URL conf is sorted into its class
    unclassified = [door.key for door in DOORS if not classes_of(door)]
    twice = {door.key: classes_of(door) for door in DOORS if len(classes_of(door)) > 1}
    # then none is left over and none is in two classes
    assert unclassified == [], (
        "New routes must be classified in tests/config/test_doors.py "
        f"(public with a reason, signed-in, owned or staff): {unclassified}"
    )
    assert twice == {}


def test_the_tables_name_only_doors_that_exist():
    keys = {door.key for door in DOORS}
    listed = {
        *PUBLIC,
        *SIGNED_IN,
        *OWNED,
        *TOKEN_GUARDED,
        *STAFF_PARAMS,
        *PUBLIC_PATHS,
        *ADMIN_STAFF_STATUS,
    }
    assert sorted(listed - keys) == []


def test_every_door_under_api_admin_is_staff_only():
    admin_api = [door for door in DOORS if door.route.startswith("api/admin/")]
    assert len(admin_api) >= 14
    assert [door.key for door in admin_api if not is_staff_api(door)] == []


def test_every_api_door_with_a_user_in_it_is_owned_or_staff():
    # An object route that is neither owned nor staff would let any signed-in
    # caller reach any object.
    loose = [
        door.key
        for door in DOORS
        if door.route.startswith("api/")
        and "<" in door.route
        and door.key not in PUBLIC
        and door.key not in OWNED
        and not is_staff_api(door)
    ]
    assert loose == []


# --- Staff doors of the API -----------------------------------------------------


@pytest.mark.parametrize("door", by_key([d for d in DOORS if is_staff_api(d)]))
def test_staff_api_door(door):
    # given a signed-in shopper, staff, and the door's parameters
    shopper = jwt_client(UserFactory())
    staff = jwt_client(StaffFactory())
    path = path_for(door, STAFF_PARAMS[door.key]() if "<" in door.route else None)
    # when each knocks
    anonymous = api_call(APIClient(), door, path)
    refused = api_call(shopper, door, path)
    # then: anonymous 401, others 403, staff in (GETs; writes are not replayed)
    assert (anonymous.status_code, anonymous.json()["code"]) == (
        401,
        "not_authenticated",
    )
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="api"'
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    if door.method == "get":
        allowed = api_call(staff, door, path)
        assert 200 <= allowed.status_code < 300, allowed.content[:300]


# --- Seller doors -----------------------------------------------------------------


@pytest.mark.parametrize("door", by_key(doors_of("seller")))
def test_seller_api_door(door):
    shopper = jwt_client(UserFactory())
    path = path_for(door)

    anonymous = api_call(APIClient(), door, path)
    refused = api_call(shopper, door, path)

    assert (anonymous.status_code, anonymous.json()["code"]) == (
        401,
        "not_authenticated",
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    if door.method == "get":
        allowed = api_call(jwt_client(SellerFactory()), door, path)
        assert allowed.status_code == 200, allowed.content[:300]


# --- Signed-in doors --------------------------------------------------------------


@pytest.mark.parametrize("door", by_key(doors_of("signed-in")))
def test_signed_in_door(door):
    anonymous = api_call(APIClient(), door, path_for(door))

    assert (anonymous.status_code, anonymous.json()["code"]) == (
        401,
        "not_authenticated",
    )
    if door.method == "get":
        own = api_call(jwt_client(UserFactory()), door, path_for(door))
        assert own.status_code == 200, own.content[:300]


# --- Doors to one user's objects --------------------------------------------------


@pytest.mark.parametrize("door", by_key(doors_of("owned")))
def test_owned_door_refuses_other_users_with_404(door):
    # given an object of its owner, and another seller (sellers pass every
    # role check, so only ownership can stop them)
    owner = SellerFactory()
    params = OWNED[door.key].make(owner)
    path = path_for(door, params)
    intruder = jwt_client(SellerFactory())
    # when
    anonymous = api_call(APIClient(), door, path)
    other = api_call(intruder, door, path)
    # then: 404 exactly as for an object that does not exist (never 403 or 200)
    assert (anonymous.status_code, anonymous.json()["code"]) == (
        401,
        "not_authenticated",
    )
    assert (other.status_code, other.json()) == (
        404,
        {"detail": "Not found.", "code": "not_found"},
    )
    # and the owner, and staff (API.md: "owner, staff"), get the real answer
    entry = OWNED[door.key]
    if entry.owner_status is not None:
        for user in (owner, StaffFactory()):
            response = api_call(jwt_client(user), door, path)
            assert response.status_code == entry.owner_status
            if entry.owner_code is not None:
                assert response.json()["code"] == entry.owner_code


def test_the_owner_still_has_what_an_intruder_tried_to_touch():
    # The 404s above changed nothing: the session another user tried to revoke
    # still serves its owner.
    owner = UserFactory()
    response = login(APIClient(), owner.email, DEFAULT_PASSWORD)
    tokens = response.json()
    intruder = jwt_client(UserFactory())

    revoke = intruder.delete(f"/api/auth/sessions/{tokens['session_id']}")

    assert revoke.status_code == 404
    me = APIClient().get("/api/auth/me", **bearer(tokens["access"]))
    assert me.status_code == 200


def test_writing_a_public_product_of_another_seller_is_403():
    # An active product is public, so its existence is no secret: another
    # seller is told no (403) rather than not found; nothing changes.
    product = ProductFactory(name="Kept")
    intruder = jwt_client(SellerFactory())

    patch = intruder.patch(
        f"/api/products/{product.pk}", {"name": "Taken"}, format="json"
    )
    delete = intruder.delete(f"/api/products/{product.pk}")

    assert (patch.status_code, patch.json()["code"]) == (403, "permission_denied")
    assert delete.status_code == 403
    product.refresh_from_db()
    assert (product.name, product.is_active) == ("Kept", True)


# --- Public doors -------------------------------------------------------------------

PUBLIC_PATHS = {
    "GET ^api/": "/api/no/such/door",
    "GET ^media/(?P<path>.+)$": "/media/no-such-file.jpg",
}


@pytest.mark.parametrize("door", by_key(doors_of("public")))
def test_public_door_opens_to_anonymous_callers(door):
    if door.key in PUBLIC_PATHS:
        path = PUBLIC_PATHS[door.key]
    elif "<" in door.route:
        path = path_for(door, {"lookup": ProductFactory().slug})
    else:
        path = path_for(door)

    client = Client()
    if door.method == "get":
        response = client.get(path)
    else:
        response = getattr(client, door.method)(
            path, "{}", content_type="application/json"
        )

    # Never a door that asks who you are, and never a crash.
    assert response.status_code not in (401, 403), response.content[:300]
    assert response.status_code < 500


# --- Django admin and the operations dashboard (HTML) -------------------------------


def _admin_instances() -> dict[type[Model], Model]:
    """One row of each model whose admin pages the test opens as staff."""
    seller = SellerFactory()
    item = OrderItemFactory(product=ProductFactory(seller=seller))
    today = date.today()
    login(APIClient(), seller.email, DEFAULT_PASSWORD)  # a Session row
    rows: list[Model] = [
        seller,
        item.order,
        item.product,
        item.product.category,
        Session.objects.get(user=seller),
        Notification.objects.create(user=seller, kind="order.paid", title="Paid"),
        JobRecord.objects.create(
            type="email.send", priority=Priority.MEDIUM, user=seller
        ),
        Report.objects.create(
            kind=ReportKind.DAILY_SALES,
            period_start=today,
            period_end=today,
            figures=sales_figures(first=today, last=today),
        ),
        OrderExport.objects.create(requested_by=seller, date_from=today, date_to=today),
        Group.objects.create(name="Support"),
    ]
    return {type(row): row for row in rows}


# Admin pages whose answer to a superuser is not 200 by design, with the
# reason; add pages of read-only admins are found from the admin itself.
ADMIN_STAFF_STATUS: dict[str, tuple[int, str]] = {
    "GET admin/autocomplete/": (
        403,
        "refused without its app_label, model_name and field_name parameters",
    ),
    "GET admin/orders/orderexport/<int:export_id>/download/": (
        404,
        "a just-requested export has no CSV yet",
    ),
    "GET admin/(?P<url>.*)$": (404, "the admin's catch-all for unknown pages"),
}


def _model_admin(route: str) -> Any:
    parts = route.split("/")
    if len(parts) < 4:
        return None
    _, app_label, model_name, *_ = parts
    return next(
        (
            model_admin
            for model, model_admin in admin.site._registry.items()
            if (model._meta.app_label, model._meta.model_name)
            == (app_label, model_name)
        ),
        None,
    )


def _staff_expects(door: Door, superuser: User, instances: dict) -> int:
    """200, or 403 where the admin refuses everyone (rows made by the system
    are not added or deleted by hand), or what ADMIN_STAFF_STATUS says."""
    if door.key in ADMIN_STAFF_STATUS:
        return ADMIN_STAFF_STATUS[door.key][0]
    if door.route.endswith("<path:object_id>/"):
        return 302  # to the object's change page
    model_admin = _model_admin(door.route)
    if model_admin is None:
        return 200
    request = SimpleNamespace(user=superuser, method="GET")
    if door.route.endswith("/add/"):
        return 200 if model_admin.has_add_permission(request) else 403
    if door.route.endswith("/delete/"):
        row = instances[model_admin.model]
        return 200 if model_admin.has_delete_permission(request, row) else 403
    return 200


def admin_path(door: Door, instances: dict[type[Model], Model]) -> str | None:
    """The door's path, or None when the world holds no object for it."""
    if "(?P<app_label>" in door.route:
        return "/admin/accounts/"
    if "(?P<url>" in door.route:
        return "/admin/no-such-page/"
    if "<" not in door.route:
        return path_for(door)
    model_admin = _model_admin(door.route)
    row = instances.get(model_admin.model) if model_admin is not None else None
    if row is None:
        return None
    name = door.route[door.route.index("<") + 1 : door.route.index(">")]
    return path_for(door, {name.split(":")[-1]: row.pk})


ADMIN_DOORS = [door for door in DOORS if is_admin_html(door)]


def test_admin_pages_send_everyone_but_staff_to_the_login():
    # given the admin's pages, a shopper signed in to the admin's session,
    # and a superuser (model pages need model permissions, not only is_staff)
    instances = _admin_instances()
    shopper = Client()
    shopper.force_login(UserFactory())
    superuser = StaffFactory(is_superuser=True)
    staff = Client()
    staff.force_login(superuser)
    failures: dict[str, Any] = {}
    checked_objects = 0
    for door in ADMIN_DOORS:
        path = admin_path(door, instances)
        fallback = f"/{door.route.split('<')[0]}1/"
        # when anonymous and non-staff callers knock
        for who, client in (("anonymous", Client()), ("shopper", shopper)):
            response = client.get(path or fallback)
            location = response.get("Location", "")
            # then each is sent to the admin login (the HTML "no")
            if response.status_code != 302 or not location.startswith("/admin/login/"):
                failures[f"{who} {door.key}"] = (response.status_code, location)
        # and staff get the page (an object route redirects to its change page)
        if path is None:
            continue
        checked_objects += "<" in door.route
        answer = staff.get(path)
        expected = _staff_expects(door, superuser, instances)
        location = answer.get("Location", "")
        if answer.status_code != expected or location.startswith("/admin/login/"):
            failures[f"staff {door.key}"] = (answer.status_code, location)
    assert failures == {}, "\n".join(f"{k}: {v}" for k, v in failures.items())
    assert len(ADMIN_DOORS) > 80
    assert checked_objects >= 30


def test_the_performance_dashboard_is_staff_only():
    shopper = Client()
    shopper.force_login(UserFactory())
    staff = Client()
    staff.force_login(StaffFactory())

    anonymous = Client().get("/admin/performance/")
    refused = shopper.get("/admin/performance/")
    allowed = staff.get("/admin/performance/")

    assert anonymous.status_code == refused.status_code == 302
    assert anonymous["Location"] == "/admin/login/?next=/admin/performance/"
    assert refused["Location"] == "/admin/login/?next=/admin/performance/"
    assert allowed.status_code == 200
    # The page's data comes from staff-only API doors (test_staff_api_door).
    assert b"/api/admin/performance/dashboard" in allowed.content


# --- /metrics ------------------------------------------------------------------------


def test_metrics_door_is_shut_to_remote_callers_even_staff(settings):
    # given no METRICS_TOKEN (the default): only loopback is answered
    settings.METRICS_TOKEN = ""
    staff_token = login(APIClient(), StaffFactory().email, DEFAULT_PASSWORD).json()[
        "access"
    ]

    anonymous = Client().get("/metrics", **EXTERNAL)
    staff = Client().get("/metrics", **EXTERNAL, **bearer(staff_token))
    local = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")

    # then a user's token is no key to it: Prometheus' token or loopback only
    assert (anonymous.status_code, staff.status_code) == (403, 403)
    assert local.status_code == 200


def test_flower_is_linked_only_from_the_staff_admin():
    # Flower runs in its own process (Procfile, basic auth); the only door to
    # it in this app is the link on a staff-only admin page.
    staff = Client()
    staff.force_login(StaffFactory(is_superuser=True))
    anonymous = Client().get("/admin/jobs/jobrecord/")

    page = staff.get("/admin/jobs/jobrecord/")

    assert anonymous.status_code == 302
    assert b"Open Flower" not in anonymous.content
    assert page.status_code == 200
    assert b"Open Flower" in page.content
