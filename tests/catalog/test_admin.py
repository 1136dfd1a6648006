"""The category and product admins render for staff, filters included."""

import pytest
from django.urls import reverse

from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_category_pages_render(admin_client):
    category = CategoryFactory()

    pages = [
        reverse("admin:catalog_category_changelist"),
        reverse("admin:catalog_category_change", args=[category.pk]),
        reverse("admin:catalog_category_add"),
    ]

    assert [admin_client.get(page).status_code for page in pages] == [200, 200, 200]


def test_product_pages_render(admin_client):
    product = ProductFactory()

    pages = [
        reverse("admin:catalog_product_changelist"),
        reverse("admin:catalog_product_change", args=[product.pk]),
        reverse("admin:catalog_product_add"),
    ]

    assert [admin_client.get(page).status_code for page in pages] == [200, 200, 200]


def test_product_form_leaves_out_the_generated_search_vector(admin_client):
    product = ProductFactory()

    response = admin_client.get(
        reverse("admin:catalog_product_change", args=[product.pk])
    )

    assert "search_vector" not in response.context["adminform"].form.fields
    assert "name" in response.context["adminform"].form.fields


def test_department_filter_includes_subcategories(admin_client):
    # given
    electronics = CategoryFactory(name="Electronics")
    headphones = CategoryFactory(name="Headphones", parent=electronics)
    inside = ProductFactory(category=headphones)
    ProductFactory(category=CategoryFactory(name="Garden"))

    # when
    response = admin_client.get(
        reverse("admin:catalog_product_changelist"),
        {"department": str(electronics.pk), "q": inside.name},
    )

    # then
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [inside]


def test_department_filter_ignores_garbage(admin_client):
    ProductFactory()

    response = admin_client.get(
        reverse("admin:catalog_product_changelist"), {"department": "x"}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
