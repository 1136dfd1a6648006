"""The catalog HTTP API: shapes, status codes, permissions, validation."""

import base64
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.test import APIClient

from catalog import selectors
from catalog.api.serializers import ProductListOutputSerializer, product_list_rows
from catalog.models import Category, Product
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    SellerFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def client_for(user=None) -> APIClient:
    """A client that carries real credentials (a session cookie), as browsers do:
    the response cache only steps aside for requests that show credentials."""
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def body(**overrides):
    return {
        "name": "Walnut lamp",
        "price": "49.90",
        "category": overrides.pop("category", None) or CategoryFactory().id,
    } | overrides


def list_ids(response):
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


# --- Reading --------------------------------------------------------------------------


def test_product_list_shape():
    product = ProductFactory(
        name="Lamp",
        slug="lamp",
        price=Decimal("19.99"),
        stock=0,
        image_url="https://img.example.com/l.jpg",
    )

    response = APIClient().get("/api/products/")

    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            {
                "id": product.id,
                "slug": "lamp",
                "name": "Lamp",
                "price": "19.99",
                "currency": "USD",
                "stock": 0,
                "in_stock": False,
                "category": {
                    "id": product.category.id,
                    "slug": product.category.slug,
                    "name": product.category.name,
                },
                "image_url": "https://img.example.com/l.jpg",
            }
        ],
    }


def test_list_rows_are_exactly_what_the_documented_serializer_gives():
    products = [
        ProductFactory(price=Decimal("19.9"), stock=0, image_url=""),
        ProductFactory(price=Decimal("1234567.05"), stock=3),
        ProductFactory(price=Decimal("0.01"), name="Ünïcode \u2603", stock=1),
    ]
    page = selectors.product_list(
        filters=selectors.ProductFilters(),
        ordering="price",
        cursor=None,
        page_size=10,
    )
    models = Product.objects.select_related("category").order_by("price", "id")

    assert [row.id for row in page.items] == [
        p.id for p in sorted(products, key=lambda p: p.price)
    ]
    assert (
        product_list_rows(page.items)
        == ProductListOutputSerializer(models, many=True).data
    )


def test_trailing_slash_is_optional():
    ProductFactory()

    assert APIClient().get("/api/products").status_code == 200
    assert APIClient().get("/api/categories").status_code == 200


def test_list_filters_by_query_parameters():
    root = CategoryFactory(slug="home")
    child = CategoryFactory(parent=root)
    seller = SellerFactory()
    match = ProductFactory(
        category=child, seller=seller, price=Decimal("15.00"), stock=1, name="Lamp"
    )
    ProductFactory(category=child, seller=seller, price=Decimal("15.00"), stock=0)
    ProductFactory(category=child, price=Decimal("15.00"), stock=1, name="Lamp")
    ProductFactory(seller=seller, price=Decimal("15.00"), stock=1, name="Lamp")
    ProductFactory(category=child, seller=seller, price=Decimal("30.00"), stock=1)
    client = APIClient()

    response = client.get(
        "/api/products/",
        {
            "category": "home",
            "min_price": "10",
            "max_price": "20",
            "in_stock": "true",
            "seller": seller.id,
            "search": "lamp",
        },
    )

    assert list_ids(response) == [match.id]
    assert len(list_ids(client.get("/api/products/", {"category": root.id}))) == 4


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"ordering": "stock"}, {"ordering": ['"stock" is not a valid choice.']}),
        (
            {"page_size": "0"},
            {"page_size": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {"page_size": "101"},
            {"page_size": ["Ensure this value is less than or equal to 100."]},
        ),
        ({"page_size": "abc"}, {"page_size": ["A valid integer is required."]}),
        ({"min_price": "cheap"}, {"min_price": ["A valid number is required."]}),
        (
            {"min_price": "20", "max_price": "10"},
            {"max_price": ["Must be greater than or equal to min_price."]},
        ),
        ({"seller": "x"}, {"seller": ["A valid integer is required."]}),
        ({"in_stock": "maybe"}, {"in_stock": ["Must be a valid boolean."]}),
        ({"cursor": "garbage"}, {"cursor": ["Invalid cursor."]}),
    ],
)
def test_bad_list_parameters_are_400_field_errors(params, errors):
    response = APIClient().get("/api/products/", params)

    assert response.status_code == 400
    assert response.json() == errors


def test_each_ordering_is_accepted():
    ProductFactory()

    for ordering in ["price", "-price", "-created_at", "name", "-popularity"]:
        response = APIClient().get("/api/products/", {"ordering": ordering})
        assert response.status_code == 200, ordering
        assert len(response.json()["results"]) == 1


def test_next_and_previous_links_walk_the_list_keeping_other_parameters():
    products = [ProductFactory(price=Decimal("5.00")) for _ in range(5)]
    ProductFactory(price=Decimal("500.00"))
    client = APIClient()

    first = client.get(
        "/api/products/", {"ordering": "price", "page_size": 2, "max_price": "10"}
    ).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    back = client.get(third["previous"]).json()

    query = parse_qs(urlsplit(first["next"]).query)
    assert first["next"].startswith("/api/products/?")
    assert (query["ordering"], query["page_size"], query["max_price"]) == (
        ["price"],
        ["2"],
        ["10"],
    )
    walked = [r["id"] for page in (first, second, third) for r in page["results"]]
    assert walked == [p.id for p in products]
    assert third["next"] is None
    assert first["previous"] is None
    assert [r["id"] for r in back["results"]] == [products[2].id, products[3].id]


def test_a_cursor_made_for_another_ordering_is_refused():
    for _ in range(3):
        ProductFactory()
    client = APIClient()
    next_url = client.get("/api/products/", {"page_size": 1}).json()["next"]
    cursor = parse_qs(urlsplit(next_url).query)["cursor"][0]

    response = client.get("/api/products/", {"cursor": cursor, "ordering": "price"})

    assert response.status_code == 400
    assert response.json() == {"cursor": ["Invalid cursor."]}


@pytest.mark.parametrize(
    ("ordering", "payload"),
    [
        ("name", ["name", "\x00", 1, 0]),
        ("price", ["price", "1e999", 1, 0]),
        ("price", ["price", 5, 1, 0]),
        ("-popularity", ["-popularity", "NaN", 1, 0]),
        ("-popularity", ["-popularity", 10**400, 1, 0]),
        ("-created_at", ["-created_at", "2026-01-01T00:00:00", 1, 0]),
        ("-created_at", ["-created_at", "2026-01-01T00:00:00+00:00", 2**64, 0]),
        ("price", {"price": 1}),
    ],
)
def test_forged_cursors_are_400s(ordering, payload):
    cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()

    response = APIClient().get(
        "/api/products/", {"cursor": cursor, "ordering": ordering}
    )

    assert response.status_code == 400
    assert response.json() == {"cursor": ["Invalid cursor."]}


def test_search_pages_by_rank_with_their_own_cursor():
    in_name = [ProductFactory(name=f"Lamp {n}", description="") for n in range(3)]
    in_text = ProductFactory(name="Table", description="lamp included")
    client = APIClient()

    first = client.get("/api/products/", {"search": "lam", "page_size": 2}).json()
    second = client.get(first["next"]).json()

    found = [r["id"] for r in first["results"] + second["results"]]
    assert found == [in_name[2].id, in_name[1].id, in_name[0].id, in_text.id]
    assert second["next"] is None


def test_product_detail_by_id_and_by_slug():
    seller = SellerFactory(first_name="Ada", last_name="Lovelace")
    product = ProductFactory(
        seller=seller, slug="oak-chair", attributes={"wood": "oak"}, description="Hi"
    )
    client = APIClient()

    by_id = client.get(f"/api/products/{product.id}/")
    by_slug = client.get("/api/products/oak-chair/")

    assert by_id.status_code == by_slug.status_code == 200
    assert by_id.json() == by_slug.json()
    data = by_id.json()
    assert set(data) == {
        "id",
        "slug",
        "name",
        "price",
        "currency",
        "stock",
        "in_stock",
        "category",
        "image_url",
        "description",
        "attributes",
        "images",
        "seller",
        "created_at",
        "updated_at",
    }
    assert (
        data["description"],
        data["attributes"],
        data["images"],
        data["seller"],
    ) == ("Hi", {"wood": "oak"}, [], {"id": seller.id, "name": "Ada Lovelace"})


def test_unknown_products_are_json_404s():
    for path in [
        "/api/products/%00/",
        "/api/products/%C3%A9t%C3%A9/",
        "/api/products/a.b/",
        "/api/products/999999/",
        "/api/products/nope/",
        "/api/products/" + "9" * 40 + "/",
    ]:
        response = APIClient().get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_inactive_product_is_404_except_for_its_seller_and_staff():
    product = ProductFactory(is_active=False)
    url = f"/api/products/{product.id}/"

    assert APIClient().get(url).status_code == 404
    assert client_for(SellerFactory()).get(url).status_code == 404
    assert client_for(product.seller).get(url).status_code == 200
    assert client_for(StaffFactory()).get(url).status_code == 200
    assert list_ids(APIClient().get("/api/products/")) == []


def test_popular_lists_the_top_products():
    top = ProductFactory(popularity=9)
    second = ProductFactory(popularity=3)
    ProductFactory(popularity=50, is_active=False)

    response = APIClient().get("/api/catalog/popular/")

    assert response.status_code == 200
    assert [p["id"] for p in response.json()] == [top.id, second.id]
    assert set(response.json()[0]) == {
        "id",
        "slug",
        "name",
        "price",
        "currency",
        "stock",
        "in_stock",
        "category",
        "image_url",
    }


def test_category_tree_endpoint():
    root = CategoryFactory(name="Home", slug="home")
    child = CategoryFactory(name="Lamps", slug="lamps", parent=root)
    ProductFactory(category=child)

    response = APIClient().get("/api/categories/")

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": root.id,
            "name": "Home",
            "slug": "home",
            "product_count": 1,
            "children": [
                {
                    "id": child.id,
                    "name": "Lamps",
                    "slug": "lamps",
                    "product_count": 1,
                    "children": [],
                }
            ],
        }
    ]


# --- Product writes -------------------------------------------------------------------


def test_anonymous_writes_are_401():
    product = ProductFactory()
    client = APIClient()

    responses = [
        client.post("/api/products/", body(), format="json"),
        client.patch(f"/api/products/{product.id}/", {"stock": 1}, format="json"),
        client.put(f"/api/products/{product.id}/", body(), format="json"),
        client.delete(f"/api/products/{product.id}/"),
        client.post("/api/categories/", {"name": "X"}, format="json"),
        client.patch(f"/api/categories/{product.category.id}/", {}, format="json"),
        client.delete(f"/api/categories/{product.category.id}/"),
    ]

    assert [r.status_code for r in responses] == [401] * 7
    assert responses[0].json()["code"] == "not_authenticated"
    assert responses[0]["WWW-Authenticate"].startswith("Bearer")


def test_a_shopper_cannot_create_products():
    response = client_for(UserFactory()).post("/api/products/", body(), format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Product.objects.count() == 0


def test_a_seller_creates_a_product_as_its_seller():
    seller = SellerFactory()
    category = CategoryFactory()

    response = client_for(seller).post(
        "/api/products/",
        {
            "name": "Walnut lamp",
            "price": 49.9,
            "category": category.id,
            "stock": 3,
            "attributes": {"size": {"h": 40, "w": 20.5}, "tags": ["wood"]},
            "seller": 1,
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"seller": ["Unknown field."]}

    response = client_for(seller).post(
        "/api/products/",
        body(
            category=category.id,
            price=49.9,
            stock=3,
            attributes={"size": {"h": 40, "w": 20.5}, "tags": ["wood"]},
        ),
        format="json",
    )

    assert response.status_code == 201
    data = response.json()
    product = Product.objects.get()
    assert data["id"] == product.id
    assert (data["slug"], data["price"], data["stock"], data["seller"]["id"]) == (
        "walnut-lamp",
        "49.90",
        3,
        seller.id,
    )
    assert product.seller == seller
    assert product.attributes == {"size": {"h": 40, "w": 20.5}, "tags": ["wood"]}


def test_staff_can_create_products():
    staff = StaffFactory()

    response = client_for(staff).post("/api/products/", body(), format="json")

    assert response.status_code == 201
    assert Product.objects.get().seller == staff


def test_the_owner_edits_and_another_seller_gets_403():
    product = ProductFactory(stock=1)
    url = f"/api/products/{product.id}/"

    own = client_for(product.seller).patch(url, {"stock": 5}, format="json")
    other = client_for(SellerFactory()).patch(url, {"stock": 9}, format="json")
    shopper = client_for(UserFactory()).delete(url)

    assert own.status_code == 200
    assert own.json()["stock"] == 5
    assert (other.status_code, other.json()["code"]) == (403, "permission_denied")
    assert shopper.status_code == 403
    product.refresh_from_db()
    assert (product.stock, product.is_active) == (5, True)


def test_another_sellers_inactive_product_is_404_for_writes():
    product = ProductFactory(is_active=False)

    response = client_for(SellerFactory()).patch(
        f"/api/products/{product.id}/", {"stock": 5}, format="json"
    )

    assert response.status_code == 404


def test_staff_can_edit_any_product():
    product = ProductFactory(price=Decimal("10.00"))

    response = client_for(StaffFactory()).patch(
        f"/api/products/{product.slug}/", {"price": "12.50"}, format="json"
    )

    assert response.status_code == 200
    product.refresh_from_db()
    assert product.price == Decimal("12.50")


def test_put_replaces_every_writable_field():
    product = ProductFactory(
        description="Old", stock=4, attributes={"a": 1}, slug="keep-me"
    )

    response = client_for(product.seller).put(
        f"/api/products/{product.id}/",
        body(category=product.category.id, name="New"),
        format="json",
    )

    assert response.status_code == 200
    product.refresh_from_db()
    assert (product.name, product.description, product.stock, product.attributes) == (
        "New",
        "",
        0,
        {},
    )
    assert product.slug == "keep-me"


def test_put_requires_the_required_fields():
    product = ProductFactory()

    response = client_for(product.seller).put(
        f"/api/products/{product.id}/", {"name": "x"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "price": ["This field is required."],
        "category": ["This field is required."],
    }


def test_delete_is_soft_and_hides_the_product():
    product = ProductFactory()
    url = f"/api/products/{product.id}/"

    response = client_for(product.seller).delete(url)

    assert response.status_code == 204
    product.refresh_from_db()
    assert product.is_active is False
    assert APIClient().get(url).status_code == 404
    assert list_ids(APIClient().get("/api/products/")) == []


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"price": "0"}, {"price": ["Must be greater than 0."]}),
        ({"price": "-1.00"}, {"price": ["Must be greater than 0."]}),
        (
            {"price": "1.999"},
            {"price": ["Ensure that there are no more than 2 decimal places."]},
        ),
        ({"price": "NaN"}, {"price": ["A valid number is required."]}),
        (
            {"price": "12345678901.00"},
            {"price": ["Ensure that there are no more than 12 digits in total."]},
        ),
        (
            {"stock": -1},
            {"stock": ["Ensure this value is greater than or equal to 0."]},
        ),
        ({"stock": 1.5}, {"stock": ["A valid integer is required."]}),
        (
            {"stock": 2**31},
            {"stock": ["Ensure this value is less than or equal to 2147483647."]},
        ),
        ({"colour": "red"}, {"colour": ["Unknown field."]}),
        ({"currency": "XXX"}, {"currency": ['"XXX" is not a valid choice.']}),
        (
            {"category": 987654},
            {"category": ['Invalid pk "987654" - object does not exist.']},
        ),
        (
            {"category": 10**20},
            {
                "category": [
                    'Invalid pk "100000000000000000000" - object does not exist.'
                ]
            },
        ),
        ({"name": ""}, {"name": ["This field may not be blank."]}),
        (
            {"name": "x" * 201},
            {"name": ["Ensure this field has no more than 200 characters."]},
        ),
        (
            {"description": "x" * 10_001},
            {"description": ["Ensure this field has no more than 10000 characters."]},
        ),
        ({"slug": "1234"}, {"slug": ["Must contain a letter."]}),
        (
            {"slug": "no spaces"},
            {
                "slug": [
                    'Enter a valid "slug" consisting of letters, numbers, '
                    "underscores or hyphens."
                ]
            },
        ),
        ({"attributes": ["a"]}, {"attributes": ["Must be a JSON object."]}),
        (
            {"attributes": {"a": {"b": {"c": {"d": 1}}}}},
            {"attributes": ["Nested deeper than 3 levels."]},
        ),
        (
            {"attributes": {f"k{n}": n for n in range(51)}},
            {"attributes": ["At most 50 keys."]},
        ),
        (
            {"attributes": {"text": "x" * 8200}},
            {"attributes": ["At most 8192 bytes as JSON."]},
        ),
        (
            {"attributes": {"a": "nul\x00"}},
            {"attributes": ["Null characters are not allowed."]},
        ),
        ({"name": "nul\x00"}, {"name": ["Null characters are not allowed."]}),
        (
            {"image_url": "javascript:alert(1)"},
            {"image_url": ["Enter a valid URL."]},
        ),
    ],
)
def test_invalid_product_bodies_are_400_field_maps_and_write_nothing(overrides, errors):
    category = CategoryFactory()

    response = client_for(SellerFactory()).post(
        "/api/products/", body(category=category.id) | overrides, format="json"
    )

    assert response.status_code == 400
    assert response.json() == errors
    assert Product.objects.count() == 0


def test_a_duplicate_slug_is_a_field_error():
    ProductFactory(slug="lamp")

    response = client_for(SellerFactory()).post(
        "/api/products/", body(slug="lamp"), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"slug": ["This slug is already in use."]}


def test_a_patch_keeping_its_own_slug_is_fine():
    product = ProductFactory(slug="lamp")

    response = client_for(product.seller).patch(
        f"/api/products/{product.id}/", {"slug": "lamp"}, format="json"
    )

    assert response.status_code == 200


def test_malformed_json_is_a_400_not_a_500():
    response = client_for(SellerFactory()).post(
        "/api/products/", data="{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert Product.objects.count() == 0


def test_form_encoded_writes_are_415():
    response = client_for(SellerFactory()).post(
        "/api/products/", {"name": "Lamp", "price": "1.00", "category": 1}
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_options_and_head_need_no_login():
    product = ProductFactory()

    assert APIClient().options(f"/api/products/{product.id}/").status_code == 200
    assert APIClient().head(f"/api/products/{product.id}/").status_code == 200


def test_invalid_patch_changes_nothing():
    product = ProductFactory(stock=2, name="Lamp")

    response = client_for(product.seller).patch(
        f"/api/products/{product.id}/",
        json.dumps({"name": "New", "stock": -5}),
        content_type="application/json",
    )

    assert response.status_code == 400
    product.refresh_from_db()
    assert (product.name, product.stock) == ("Lamp", 2)


# --- Category writes ------------------------------------------------------------------


def test_only_staff_write_categories():
    seller = client_for(SellerFactory())
    category = CategoryFactory()

    responses = [
        seller.post("/api/categories/", {"name": "X"}, format="json"),
        seller.patch(f"/api/categories/{category.id}/", {"name": "Y"}, format="json"),
        seller.delete(f"/api/categories/{category.id}/"),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert Category.objects.count() == 1


def test_staff_create_update_and_delete_categories():
    staff = client_for(StaffFactory())
    parent = CategoryFactory()

    created = staff.post(
        "/api/categories/", {"name": "Desk Lamps", "parent": parent.id}, format="json"
    )
    category_id = created.json()["id"]
    updated = staff.patch(
        f"/api/categories/{category_id}/",
        {"name": "Lamps", "position": 3},
        format="json",
    )
    deleted = staff.delete(f"/api/categories/{category_id}/")

    assert created.status_code == 201
    assert created.json() == {
        "id": category_id,
        "name": "Desk Lamps",
        "slug": "desk-lamps",
        "parent": parent.id,
        "position": 0,
    }
    assert updated.status_code == 200
    assert updated.json() == {
        "id": category_id,
        "name": "Lamps",
        "slug": "desk-lamps",
        "parent": parent.id,
        "position": 3,
    }
    assert deleted.status_code == 204
    assert not Category.objects.filter(pk=category_id).exists()


def test_deleting_a_non_empty_category_is_409():
    product = ProductFactory()

    response = client_for(StaffFactory()).delete(
        f"/api/categories/{product.category.id}/"
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": "The category still has products or subcategories.",
        "code": "category_not_empty",
    }
    assert Category.objects.filter(pk=product.category.id).exists()


def test_moving_a_category_under_its_own_child_is_400():
    root = CategoryFactory()
    child = CategoryFactory(parent=root)

    response = client_for(StaffFactory()).patch(
        f"/api/categories/{root.id}/", {"parent": child.id}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "category_cycle"


def test_category_write_validation():
    staff = client_for(StaffFactory())
    CategoryFactory(slug="taken")

    responses = [
        staff.post("/api/categories/", {"name": ""}, format="json"),
        staff.post("/api/categories/", {"name": "A", "slug": "taken"}, format="json"),
        staff.post("/api/categories/", {"name": "A", "colour": 1}, format="json"),
        staff.post("/api/categories/", {"name": "A", "parent": 999999}, format="json"),
        staff.patch("/api/categories/999999/", {"name": "A"}, format="json"),
    ]

    assert [r.status_code for r in responses] == [400, 400, 400, 400, 404]
    assert [r.json() for r in responses[:4]] == [
        {"name": ["This field may not be blank."]},
        {"slug": ["This slug is already in use."]},
        {"colour": ["Unknown field."]},
        {"parent": ['Invalid pk "999999" - object does not exist.']},
    ]
    assert Category.objects.count() == 1
