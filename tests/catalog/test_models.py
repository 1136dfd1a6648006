"""Database constraints hold even when application code is bypassed."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.models import User
from catalog.models import Product
from orders.models import Order
from tests.factories import OrderFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_negative_stock_is_rejected_by_the_database():
    product = ProductFactory(stock=1)
    with (
        pytest.raises(IntegrityError, match="product_stock_non_negative"),
        transaction.atomic(),
    ):
        Product.objects.filter(pk=product.pk).update(stock=-1)


def test_non_positive_price_is_rejected_by_the_database():
    with (
        pytest.raises(IntegrityError, match="product_price_positive"),
        transaction.atomic(),
    ):
        ProductFactory(price=Decimal("0.00"))


def test_order_total_must_equal_subtotal_plus_shipping():
    with pytest.raises(IntegrityError, match="order_total_sum"), transaction.atomic():
        OrderFactory(
            subtotal=Decimal("10.00"), shipping=Decimal("5.00"), total=Decimal("14.00")
        )
    assert Order.objects.count() == 0


def test_email_is_unique_regardless_of_case():
    User.objects.create_user("Jane.Doe@Example.com", "x")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("jane.doe@example.COM", "x")


def test_mixed_case_email_cannot_be_stored_directly():
    with (
        pytest.raises(IntegrityError, match="accounts_user_email_lowercase"),
        transaction.atomic(),
    ):
        User.objects.create(email="Mixed@Example.com")


def test_login_lookup_ignores_case():
    user = UserFactory(email="shopper@example.com")
    assert User.objects.get_by_natural_key("SHOPPER@example.com") == user


def test_search_vector_is_maintained_by_postgres():
    product = ProductFactory(name="Walnut desk lamp", description="Warm light")
    found = Product.objects.filter(search_vector="lamp").values_list("pk", flat=True)
    assert list(found) == [product.pk]
    Product.objects.filter(pk=product.pk).update(name="Oak chair")
    assert not Product.objects.filter(search_vector="lamp").exists()
