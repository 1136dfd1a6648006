"""Every error leaves as JSON in API.md's shapes, with the request id."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import CategoryFactory, UserFactory

pytestmark = [pytest.mark.urls("tests.config.urls")]


def post_raw(client, body: bytes | str, content_type: str = "application/json"):
    return client.generic("POST", "/api/test/echo", body, content_type=content_type)


def test_unknown_api_path_is_json_404_with_request_id(client):
    response = client.get("/api/no/such/thing", HTTP_X_REQUEST_ID="req-abc.123")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "Not found.",
        "code": "not_found",
        "request_id": "req-abc.123",
    }
    assert response["X-Request-ID"] == "req-abc.123"


def test_invalid_request_id_is_replaced(client):
    response = client.get("/health", HTTP_X_REQUEST_ID="bad id\r\nx")
    new_id = response["X-Request-ID"]
    assert new_id != "bad id\r\nx"
    assert len(new_id) == 32
    assert client.get("/health")["X-Request-ID"] != new_id


def test_validation_error_is_a_field_map(client):
    response = client.post(
        "/api/test/echo", {"name": "x" * 21}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "name": ["Ensure this field has no more than 20 characters."]
    }


def test_unknown_fields_are_refused(client):
    response = client.post(
        "/api/test/echo", {"name": "ok", "admin": True}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"admin": ["Unknown field."]}


def test_valid_body_passes(client):
    response = client.post(
        "/api/test/echo",
        {"name": "ok", "price": "19.99"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json() == {"name": "ok"}


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        '{"name": "a"',
        b'{"name": "\xff\xfe"}',
        '{"name": NaN}',
        '{"name": "a", "price": Infinity}',
        '{"name": "a", "price": 1e999999}',
        '{"name": "a", "price": ' + "9" * 5000 + "}",
        '{"name": "a", "price": 1.' + "1" * 100 + "}",
        "[" * 100 + "]" * 100,
        '{"a":' * 40 + "1" + "}" * 40,
        "[" * 100000 + "]" * 100000,
    ],
    ids=[
        "garbage",
        "truncated",
        "bad-utf8",
        "nan",
        "infinity",
        "huge-exponent",
        "huge-int",
        "long-decimal",
        "deep-list",
        "deep-object",
        "very-deep",
    ],
)
def test_hostile_json_is_400_never_500(client, body):
    response = post_raw(client, body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "parse_error"
    assert payload["detail"]


def test_body_over_limit_is_413_before_parsing(client, settings):
    settings.API_MAX_BODY_BYTES = 1024
    body = json.dumps({"name": "x" * 2000})
    response = post_raw(client, body)
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_wrong_content_type_is_415(client):
    response = post_raw(client, "name=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json() == {
        "detail": 'Unsupported media type "text/plain" in request.',
        "code": "unsupported_media_type",
    }


def test_method_not_allowed_shape(client):
    response = client.delete("/api/test/echo")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_unexpected_exception_is_json_500_with_request_id(client):
    response = client.get("/api/test/boom", HTTP_X_REQUEST_ID="trace-500")
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Internal server error.",
        "code": "server_error",
        "request_id": "trace-500",
    }


def test_unreachable_database_is_503_service_unavailable(client):
    response = client.get("/api/test/db-down", HTTP_X_REQUEST_ID="db-503")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "detail": "The service is temporarily unavailable.",
        "code": "service_unavailable",
        "request_id": "db-503",
    }


def test_domain_error_carries_code_and_extra_fields(client):
    response = client.get("/api/test/domain")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Not enough stock.",
        "code": "insufficient_stock",
        "product_id": 7,
    }


def test_trailing_slash_is_optional_and_post_is_not_redirected(client):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/schema").status_code == 200
    with_slash = client.post(
        "/api/test/echo/", {"name": "a"}, content_type="application/json"
    )
    without = client.post(
        "/api/test/echo", {"name": "a"}, content_type="application/json"
    )
    assert (with_slash.status_code, without.status_code) == (200, 200)


def test_api_root_is_browsable_and_links_the_docs(client):
    response = client.get("/api/")
    assert response.status_code == 200
    assert response.json()["docs"] == "http://testserver/api/docs/"
    html = client.get("/api/", HTTP_ACCEPT="text/html")
    assert html.status_code == 200
    assert b"Api Root" in html.content


# --- Scenario 10 on the real endpoints, signed in ------------------------------------

TEN_MB = 10 * 1024 * 1024


def _signed_in(**role: bool) -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(**role))
    return client


def _post_raw(client: APIClient, path: str, body: bytes | str, **extra: str):
    return client.generic("POST", path, body, content_type="application/json", **extra)


WRITE_DOORS = [
    ("/api/orders", {"is_seller": False}),
    ("/api/products", {"is_seller": True}),
    ("/api/auth/password/change", {"is_seller": False}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "role"), WRITE_DOORS)
def test_a_10_mb_json_body_is_413_with_the_default_limit(settings, path, role):
    # given the default limit (1 MiB) and a well-formed 10 MB document
    assert settings.API_MAX_BODY_BYTES == 1024 * 1024
    body = json.dumps({"items": [], "padding": "x" * TEN_MB})[: TEN_MB - 2] + '"}'
    assert len(body) == TEN_MB
    # when it is posted to a signed-in write endpoint
    response = _post_raw(_signed_in(**role), path, body, HTTP_IDEMPOTENCY_KEY="k")
    # then it is refused by size, before anything parses it
    assert response.status_code == 413
    assert response.json() == {
        "detail": "Request body exceeds 1048576 bytes.",
        "code": "request_too_large",
    }


def test_the_body_limit_is_exact(client, settings):
    settings.API_MAX_BODY_BYTES = 1000
    at_limit = '{"name": "' + "x" * (1000 - 12) + '"}'
    assert len(at_limit) == 1000

    accepted = post_raw(client, at_limit)
    refused = post_raw(client, at_limit + " ")

    assert accepted.status_code == 400  # parsed: the name is too long
    assert accepted.json() == {
        "name": ["Ensure this field has no more than 20 characters."]
    }
    assert (refused.status_code, refused.json()["code"]) == (413, "request_too_large")


HOSTILE_ON_DOORS = {
    "invalid": "{not json",
    "deep": '{"items": ' + "[" * 40 + "]" * 40 + "}",
    "very-deep": "[" * 100000 + "]" * 100000,
    "huge-number": '{"price": ' + "9" * 5000 + "}",
    "nan": '{"price": NaN}',
}


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "role"), WRITE_DOORS)
@pytest.mark.parametrize("body", HOSTILE_ON_DOORS.values(), ids=HOSTILE_ON_DOORS)
def test_hostile_json_on_signed_in_endpoints_is_400(path, role, body):
    response = _post_raw(_signed_in(**role), path, body, HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "role"), WRITE_DOORS)
def test_wrong_content_types_on_signed_in_endpoints_are_415(path, role):
    client = _signed_in(**role)

    for content_type in ("text/plain", "application/xml", "application/x-yaml"):
        response = client.generic(
            "POST", path, "a: 1", content_type=content_type, HTTP_IDEMPOTENCY_KEY="k"
        )

        assert response.status_code == 415, content_type
        assert response.json()["code"] == "unsupported_media_type"


# 31 digits: short enough for the parser, far past any column.
HUGE = 10**30


@pytest.mark.django_db
@pytest.mark.parametrize(
    "line",
    [
        {"product_id": 1, "quantity": HUGE},
        {"product_id": 1, "quantity": -HUGE},
        {"product_id": 1, "quantity": 1e30},
        {"product_id": HUGE, "quantity": 1},
        {"product_id": 2**63, "quantity": 1},
    ],
    ids=["quantity", "negative-quantity", "float-quantity", "product-id", "int8+1"],
)
def test_huge_numbers_in_an_order_are_field_errors(line):
    body = {
        "items": [line],
        "shipping_address": {
            "name": "Ada",
            "line1": "1 Main St",
            "city": "Portland",
            "postal_code": "97201",
            "country": "US",
        },
    }

    response = _signed_in().post(
        "/api/orders", body, format="json", HTTP_IDEMPOTENCY_KEY="huge"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"items"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"price": "1e29"},
        {"price": HUGE},
        {"price": "0.001"},
        {"stock": HUGE},
        {"stock": 2**31},
        {"category": HUGE},
    ],
    ids=["price-exponent", "price-int", "price-scale", "stock", "int4+1", "category"],
)
def test_huge_numbers_in_a_product_are_field_errors(fields):
    category = CategoryFactory()
    body = {"name": "Lamp", "price": "10.00", "category": category.pk, **fields}

    response = _signed_in(is_seller=True).post("/api/products", body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == set(fields)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/orders/{n}"),
        ("post", "/api/orders/{n}/cancel"),
        ("get", "/api/orders/{n}/invoice"),
        ("post", "/api/notifications/{n}/read"),
        ("get", "/api/products/{n}"),
        ("patch", "/api/products/{n}"),
    ],
)
def test_huge_ids_in_the_path_are_404_not_500(method, path):
    client = _signed_in(is_seller=True)

    for n in (2**63, 10**40):
        response = getattr(client, method)(path.format(n=n), {}, format="json")

        assert response.status_code == 404, (path, n)
        assert response.json()["code"] == "not_found"


def test_a_write_to_no_route_is_the_json_404_even_with_csrf_enforced():
    """Browsers' CSRF check must not turn the API's 404 into Django's HTML
    403 page (the API never authenticates by cookie)."""
    strict = Client(enforce_csrf_checks=True)
    for method in (strict.post, strict.put, strict.patch, strict.delete):
        response = method("/api/categories/false/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
