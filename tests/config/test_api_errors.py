"""Every error leaves as JSON in API.md's shapes, with the request id."""

import json

import pytest

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
