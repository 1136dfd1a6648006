"""Catalog writes: slugs, soft delete, the category tree's rules, re-indexing."""

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError

from catalog import services
from catalog.exceptions import CategoryCycle, CategoryNotEmpty, SlugTaken
from catalog.models import Category, Product
from tests.factories import CategoryFactory, ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db


def create(**overrides):
    fields = {
        "seller": SellerFactory(),
        "category": CategoryFactory(),
        "name": "Walnut desk lamp",
        "price": Decimal("49.90"),
    } | overrides
    return services.product_create(**fields)


def test_product_create_stores_every_field_and_slugs_the_name():
    seller, category = SellerFactory(), CategoryFactory()

    product = services.product_create(
        seller=seller,
        category=category,
        name="Walnut Desk Lamp!",
        price=Decimal("49.90"),
        currency="EUR",
        stock=4,
        description="Warm light.",
        attributes={"colour": "brown"},
        image_url="https://img.example.com/lamp.jpg",
    )

    product.refresh_from_db()
    assert (
        product.seller,
        product.category,
        product.name,
        product.slug,
        product.price,
        product.currency,
        product.stock,
        product.description,
        product.attributes,
        product.image_url,
        product.is_active,
    ) == (
        seller,
        category,
        "Walnut Desk Lamp!",
        "walnut-desk-lamp",
        Decimal("49.90"),
        "EUR",
        4,
        "Warm light.",
        {"colour": "brown"},
        "https://img.example.com/lamp.jpg",
        True,
    )


def test_a_taken_generated_slug_gets_a_short_suffix():
    first = create(name="Desk lamp")
    second = create(name="Desk lamp")

    assert first.slug == "desk-lamp"
    assert re.fullmatch(r"desk-lamp-[0-9a-f]{6}", second.slug)


def test_a_generated_slug_always_contains_a_letter():
    assert create(name="1984").slug == "product-1984"
    assert create(name="!!!").slug == "product"
    assert create(name="日本").slug.startswith("product")


def test_a_long_name_still_fits_the_slug_with_its_suffix():
    create(name="x" * 200)
    second = create(name="x" * 200)

    assert len(second.slug) <= 220


def test_an_explicit_slug_that_is_taken_is_refused_and_nothing_is_written():
    ProductFactory(slug="lamp")
    before = Product.objects.count()

    with pytest.raises(SlugTaken):
        create(slug="lamp")

    assert Product.objects.count() == before


def test_database_constraints_leave_nothing_behind():
    before = Product.objects.count()

    with pytest.raises(IntegrityError):
        create(price=Decimal("0.00"))

    assert Product.objects.count() == before


def test_product_update_changes_only_the_given_fields():
    product = ProductFactory(name="Lamp", stock=3, price=Decimal("10.00"))
    updated_before = product.updated_at

    services.product_update(product=product, data={"stock": 7, "name": "Big lamp"})

    product.refresh_from_db()
    assert (product.name, product.stock, product.price, product.slug) == (
        "Big lamp",
        7,
        Decimal("10.00"),
        product.slug,
    )
    assert product.updated_at > updated_before


def test_product_update_refuses_fields_it_does_not_own():
    product = ProductFactory()

    with pytest.raises(ValueError, match="view_count"):
        services.product_update(product=product, data={"view_count": 10})


def test_product_update_to_a_taken_slug_is_refused():
    ProductFactory(slug="taken")
    product = ProductFactory(slug="mine")

    with pytest.raises(SlugTaken):
        services.product_update(product=product, data={"slug": "taken"})

    product.refresh_from_db()
    assert product.slug == "mine"


def test_product_delete_is_soft():
    product = ProductFactory()

    services.product_delete(product=product)

    product.refresh_from_db()
    assert product.is_active is False


def test_category_create_slugs_the_name_under_a_parent():
    parent = CategoryFactory()

    category = services.category_create(name="Desk Lamps", parent=parent, position=2)

    category.refresh_from_db()
    assert (category.slug, category.parent, category.position) == (
        "desk-lamps",
        parent,
        2,
    )


def test_a_category_cannot_move_under_itself_or_its_descendants():
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)

    with pytest.raises(CategoryCycle):
        services.category_update(category=root, data={"parent": grandchild})
    with pytest.raises(CategoryCycle):
        services.category_update(category=root, data={"parent": root})

    root.refresh_from_db()
    assert root.parent is None


def test_a_category_can_move_elsewhere_and_be_renamed():
    old, new = CategoryFactory(), CategoryFactory()
    category = CategoryFactory(parent=old, name="Lamps")

    services.category_update(category=category, data={"parent": new, "name": "Light"})

    category.refresh_from_db()
    assert (category.parent, category.name) == (new, "Light")


def test_category_delete_refuses_categories_with_products_or_children():
    with_product = ProductFactory(is_active=False).category
    with_child = CategoryFactory()
    CategoryFactory(parent=with_child)
    empty = CategoryFactory()

    with pytest.raises(CategoryNotEmpty):
        services.category_delete(category=with_product)
    with pytest.raises(CategoryNotEmpty):
        services.category_delete(category=with_child)
    services.category_delete(category=empty)

    assert set(
        Category.objects.filter(
            pk__in=[with_product.pk, with_child.pk, empty.pk]
        ).values_list("pk", flat=True)
    ) == {with_product.pk, with_child.pk}


def test_rebuild_search_index_reindexes_and_analyzes():
    ProductFactory(name="Walnut lamp")

    out = StringIO()
    call_command("rebuild_search_index", stdout=out)

    assert re.fullmatch(
        r"rebuilt product_search_idx in \d+\.\d\ds, analyzed products in \d+\.\d\ds\n",
        out.getvalue(),
    )
    assert Product.objects.filter(search_vector="lamp").count() == 1
