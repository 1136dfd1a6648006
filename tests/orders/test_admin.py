"""The order admin renders for staff; lines are read-only snapshots."""

import pytest
from django.urls import reverse

from tests.factories import OrderItemFactory

pytestmark = pytest.mark.django_db


def test_order_pages_render(admin_client):
    order = OrderItemFactory().order

    pages = [
        reverse("admin:orders_order_changelist"),
        reverse("admin:orders_order_change", args=[order.pk]),
        reverse("admin:orders_order_add"),
    ]

    assert [admin_client.get(page).status_code for page in pages] == [200, 200, 200]


def test_changelist_searches_by_number_and_filters_by_status(admin_client):
    order = OrderItemFactory(order__number="BZ-2026-424242").order
    OrderItemFactory()

    response = admin_client.get(
        reverse("admin:orders_order_changelist"),
        {"q": "424242", "status__exact": "pending"},
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [order]


def test_change_page_shows_lines_read_only(admin_client):
    item = OrderItemFactory(name="Snapshot name", quantity=2)

    response = admin_client.get(
        reverse("admin:orders_order_change", args=[item.order.pk])
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "Snapshot name" in content
    assert 'name="items-0-quantity"' not in content
    form = response.context["adminform"].form
    assert "total" not in form.fields
    assert "tracking_number" in form.fields
