"""factory_boy factories: fast, with password hashing kept to one per class."""

from decimal import Decimal

import factory
from django.contrib.auth.hashers import make_password

from accounts.models import User
from catalog.models import Category, Product
from orders.models import Order, OrderItem

DEFAULT_PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.LazyFunction(lambda: make_password(DEFAULT_PASSWORD))


class SellerFactory(UserFactory):
    is_seller = True


class StaffFactory(UserFactory):
    is_staff = True


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    seller = factory.SubFactory(SellerFactory)
    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description = "A fine product."
    price = Decimal("19.99")
    stock = 10


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    number = factory.Sequence(lambda n: f"BZ-2026-{n:06d}")
    subtotal = Decimal("19.99")
    shipping = Decimal("0.00")
    total = Decimal("19.99")


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    name = factory.SelfAttribute("product.name")
    unit_price = factory.SelfAttribute("product.price")
    quantity = 1
