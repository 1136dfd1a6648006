"""Catalog reads: filters, orderings, keyset pages, search, the tree, popular."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import selectors
from catalog.keyset import Cursor
from catalog.models import Product
from catalog.selectors import ProductFilters, product_list
from catalog.tiers import tier_of
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    SellerFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def ids(filters=None, ordering=None, page_size=100):
    page = product_list(
        filters=filters or ProductFilters(),
        ordering=ordering,
        cursor=None,
        page_size=page_size,
    )
    return [product.id for product in page.items]


def walk(*, ordering, page_size, filters=None, between_pages=None):
    """Every id, page by page forwards, calling ``between_pages`` after each page."""
    seen, cursor = [], None
    while True:
        page = product_list(
            filters=filters or ProductFilters(),
            ordering=ordering,
            cursor=cursor,
            page_size=page_size,
        )
        seen.extend(product.id for product in page.items)
        if between_pages:
            between_pages()
        if page.next is None:
            return seen
        cursor = page.next


# --- Filters --------------------------------------------------------------------------


def test_category_filter_includes_every_descendant_by_id_and_by_slug():
    root = CategoryFactory(slug="home")
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    other = CategoryFactory()
    in_root = ProductFactory(category=root)
    in_child = ProductFactory(category=child)
    in_grandchild = ProductFactory(category=grandchild)
    ProductFactory(category=other)

    by_id = ids(ProductFilters(category=root.id))
    by_slug = ids(ProductFilters(category="home"))
    by_child = ids(ProductFilters(category=str(child.id)))

    expected = [in_grandchild.id, in_child.id, in_root.id]
    assert by_id == expected
    assert by_slug == expected
    assert by_child == [in_grandchild.id, in_child.id]


def test_unknown_category_matches_nothing():
    ProductFactory()

    assert ids(ProductFilters(category="no-such-category")) == []
    assert ids(ProductFilters(category=10**30)) == []
    assert ids(ProductFilters(category="9" * 40)) == []


def test_price_bounds_are_inclusive():
    cheap = ProductFactory(price=Decimal("5.00"))
    middle = ProductFactory(price=Decimal("10.00"))
    dear = ProductFactory(price=Decimal("20.00"))

    assert ids(ProductFilters(min_price=Decimal("10.00"))) == [dear.id, middle.id]
    assert ids(ProductFilters(max_price=Decimal("10.00"))) == [middle.id, cheap.id]
    assert ids(ProductFilters(min_price=Decimal(6), max_price=Decimal(19))) == [
        middle.id
    ]


def test_in_stock_and_seller_filters():
    seller = SellerFactory()
    stocked = ProductFactory(seller=seller, stock=3)
    sold_out = ProductFactory(seller=seller, stock=0)
    elsewhere = ProductFactory(stock=5)

    assert ids(ProductFilters(in_stock=True)) == [elsewhere.id, stocked.id]
    assert ids(ProductFilters(in_stock=False)) == [sold_out.id]
    assert ids(ProductFilters(seller=seller.id)) == [sold_out.id, stocked.id]


def test_filters_combine():
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    seller = SellerFactory()
    match = ProductFactory(
        category=child, seller=seller, price=Decimal("15.00"), stock=2, name="Red lamp"
    )
    ProductFactory(category=child, seller=seller, price=Decimal("15.00"), stock=0)
    ProductFactory(category=child, seller=seller, price=Decimal("99.00"), stock=2)
    ProductFactory(category=child, price=Decimal("15.00"), stock=2)
    ProductFactory(seller=seller, price=Decimal("15.00"), stock=2)
    ProductFactory(
        category=child, seller=seller, price=Decimal("15.00"), stock=2, name="Chair"
    )

    found = ids(
        ProductFilters(
            category=root.slug,
            min_price=Decimal(10),
            max_price=Decimal(20),
            in_stock=True,
            seller=seller.id,
            search="lamp",
        )
    )

    assert found == [match.id]


def test_inactive_products_are_left_out_unless_asked_for():
    active = ProductFactory()
    inactive = ProductFactory(is_active=False)

    assert ids() == [active.id]
    page = product_list(
        filters=ProductFilters(),
        ordering=None,
        cursor=None,
        page_size=10,
        include_inactive=True,
    )
    assert [p.id for p in page.items] == [inactive.id, active.id]


# --- Orderings and keyset pages -------------------------------------------------------


def test_each_ordering_sorts_with_id_as_tie_breaker():
    now = timezone.now()
    a = ProductFactory(name="Banana", price=Decimal("2.00"), popularity=5)
    b = ProductFactory(name="apple", price=Decimal("1.00"), popularity=9)
    c = ProductFactory(name="Cherry", price=Decimal("2.00"), popularity=5)
    Product.objects.filter(pk=a.pk).update(created_at=now - timedelta(days=2))
    Product.objects.filter(pk=b.pk).update(created_at=now)
    Product.objects.filter(pk=c.pk).update(created_at=now - timedelta(days=1))

    assert ids(ordering="price") == [b.id, a.id, c.id]
    assert ids(ordering="-price") == [c.id, a.id, b.id]
    assert ids(ordering="-created_at") == [b.id, c.id, a.id]
    assert ids(ordering=None) == [b.id, c.id, a.id]
    assert ids(ordering="-popularity") == [b.id, c.id, a.id]
    # The database collation orders names (case-insensitively here).
    by_name = list(Product.objects.order_by("name", "id").values_list("id", flat=True))
    assert ids(ordering="name") == by_name


@pytest.mark.parametrize("ordering", ["price", "-price", "-created_at", "name"])
def test_paging_forwards_and_backwards_over_ties_visits_every_row_once(ordering):
    same_time = timezone.now()
    for n in range(23):
        ProductFactory(price=Decimal(n % 3 + 1), name=f"Item {n % 4}")
    Product.objects.update(created_at=same_time)
    everything = ids(ordering=ordering)

    # given the last page
    forwards, cursor, pages = [], None, []
    while True:
        page = product_list(
            filters=ProductFilters(), ordering=ordering, cursor=cursor, page_size=5
        )
        pages.append([p.id for p in page.items])
        forwards.extend(pages[-1])
        if page.next is None:
            break
        cursor = page.next
    # when walking back from it
    backwards, cursor = [], page.previous
    while cursor is not None:
        page = product_list(
            filters=ProductFilters(), ordering=ordering, cursor=cursor, page_size=5
        )
        backwards = [p.id for p in page.items] + backwards
        cursor = page.previous

    assert forwards == everything
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert backwards == everything[:20]


def test_popularity_paging_over_ties():
    for n in range(11):
        ProductFactory(popularity=n % 2)

    assert walk(ordering="-popularity", page_size=4) == ids(ordering="-popularity")


def test_pages_neither_repeat_nor_skip_rows_while_rows_are_inserted():
    # given 30 products at one price
    category = CategoryFactory()
    seller = SellerFactory()
    start = [
        ProductFactory(price=Decimal("9.99"), category=category, seller=seller).id
        for _ in range(30)
    ]

    def insert_more():
        ProductFactory(price=Decimal("9.99"), category=category, seller=seller)
        ProductFactory(price=Decimal("1.00"), category=category, seller=seller)

    # when paging by price while rows with equal and lower prices arrive
    seen = walk(ordering="price", page_size=7, between_pages=insert_more)

    # then
    assert len(seen) == len(set(seen))
    assert set(start) <= set(seen)
    assert [i for i in seen if i in set(start)] == start


def test_first_page_has_no_previous_and_last_has_no_next():
    for _ in range(3):
        ProductFactory()

    first = product_list(
        filters=ProductFilters(), ordering=None, cursor=None, page_size=2
    )
    last = product_list(
        filters=ProductFilters(), ordering=None, cursor=first.next, page_size=2
    )

    assert first.previous is None
    assert first.next is not None
    assert len(last.items) == 1
    assert last.next is None
    assert last.previous == Cursor(
        "-created_at", last.items[0].created_at.isoformat(), last.items[0].id, True
    )


@pytest.mark.parametrize(
    ("ordering", "index", "condition"),
    [
        (
            "price",
            "product_price_idx",
            "(ROW(price, id) > ROW(",
        ),
        (
            "-price",
            "product_price_idx",
            "(ROW(price, id) < ROW(",
        ),
        (
            "name",
            "product_name_idx",
            "(ROW((name)::text, id) > ROW(",
        ),
        (
            "-created_at",
            "product_created_idx",
            "(ROW(created_at, id) < ROW(",
        ),
        (
            "-popularity",
            "product_popularity_idx",
            "(ROW(popularity, id) < ROW(",
        ),
    ],
)
def test_a_later_page_is_an_index_range_scan_without_sort(ordering, index, condition):
    # given a page well inside the list
    for n in range(5):
        ProductFactory(price=Decimal(n + 1), popularity=n)
    first = product_list(
        filters=ProductFilters(), ordering=ordering, cursor=None, page_size=2
    )
    with CaptureQueriesContext(connection) as captured:
        product_list(
            filters=ProductFilters(), ordering=ordering, cursor=first.next, page_size=2
        )

    # when PostgreSQL plans it as if the table were big
    with connection.cursor() as db:
        db.execute("SET LOCAL enable_seqscan = off")
        db.execute("SET LOCAL enable_bitmapscan = off")
        db.execute("EXPLAIN " + captured.captured_queries[-1]["sql"])
        plan = "\n".join(row[0] for row in db.fetchall())

    # then the cursor is an index condition: no scan from the start, no sort
    assert index in plan
    assert f"Index Cond: {condition}" in plan
    assert "Sort" not in plan


# --- Search ---------------------------------------------------------------------------


def test_name_match_ranks_above_description_only_match():
    in_description = ProductFactory(name="Side table", description="Comes with a lamp")
    in_name = ProductFactory(name="Desk lamp", description="Bright and warm")

    assert ids(ProductFilters(search="lamp")) == [in_name.id, in_description.id]


def test_last_word_matches_as_a_prefix_from_two_characters():
    lamp = ProductFactory(name="Walnut lamp", description="")
    ProductFactory(name="Oak chair", description="")

    assert ids(ProductFilters(search="lam")) == [lamp.id]
    assert ids(ProductFilters(search="walnut la")) == [lamp.id]
    assert ids(ProductFilters(search="walnut l")) == [lamp.id]
    # A finished word (followed by a space) is matched whole, stemmed.
    assert ids(ProductFilters(search="lam ")) == []
    assert ids(ProductFilters(search="lamps ")) == [lamp.id]


def test_common_and_rare_words_both_find_their_products():
    common = [
        ProductFactory(name=f"Classic mug {n}", description="") for n in range(25)
    ]
    rare = ProductFactory(name="Zeppelin mug", description="")

    found_common = walk(
        ordering=None, page_size=10, filters=ProductFilters(search="mug")
    )
    found_rare = ids(ProductFilters(search="zeppelin"))

    assert sorted(found_common) == sorted([p.id for p in common] + [rare.id])
    assert found_rare == [rare.id]


def test_search_punctuation_and_stop_words_are_harmless():
    ProductFactory(name="The lamp")

    assert ids(ProductFilters(search="!!! ???")) == []
    assert ids(ProductFilters(search="the ")) == []
    assert ids(ProductFilters(search="lamp & | ! :* ( ")) != []


def test_search_with_explicit_ordering_orders_by_that_field():
    dear = ProductFactory(name="Lamp deluxe", price=Decimal("50.00"))
    cheap = ProductFactory(name="Lamp", price=Decimal("5.00"))
    ProductFactory(name="Chair", price=Decimal("1.00"))

    assert ids(ProductFilters(search="lamp"), ordering="price") == [cheap.id, dear.id]


def test_search_is_ranked_over_a_bounded_candidate_set(monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 3)
    products = [ProductFactory(name="Lamp", description="") for _ in range(5)]

    found = ids(ProductFilters(search="lamp"))

    # Three of the five matches, equal rank: highest id first.
    assert len(found) == 3
    assert set(found) <= {p.id for p in products}
    assert found == sorted(found, reverse=True)


def test_search_candidate_plan_settings_do_not_outlive_the_search():
    ProductFactory(name="Lamp")

    with connection.cursor() as db:
        db.execute("SET LOCAL max_parallel_workers_per_gather = 3")
        assert ids(ProductFilters(search="lamp")) != []
        db.execute(
            "SELECT current_setting('enable_seqscan'),"
            " current_setting('enable_indexscan'),"
            " current_setting('max_parallel_workers_per_gather')"
        )
        assert db.fetchone() == ("on", "on", "3")


def test_search_pages_backwards_and_forwards_over_equal_ranks():
    for n in range(7):
        ProductFactory(name=f"Lamp {n}", description="")
    everything = ids(ProductFilters(search="lamp"))

    forwards = walk(ordering=None, page_size=3, filters=ProductFilters(search="lamp"))
    last = product_list(
        filters=ProductFilters(search="lamp"),
        ordering=None,
        cursor=product_list(
            filters=ProductFilters(search="lamp"),
            ordering=None,
            cursor=None,
            page_size=3,
        ).next,
        page_size=3,
    )
    back = product_list(
        filters=ProductFilters(search="lamp"),
        ordering=None,
        cursor=last.previous,
        page_size=3,
    )

    assert forwards == everything
    assert len(everything) == 7
    assert [p.id for p in back.items] == everything[:3]
    assert back.previous is None


def test_search_candidates_are_the_most_popular_matches(monkeypatch):
    # given more matches than candidates, dense enough for the probe
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 3)
    lamps = [
        ProductFactory(name="Lamp", description="", popularity=p) for p in (5, 1, 9, 3)
    ]
    ProductFactory(name="Chair", description="", popularity=100)

    # when searching by rank, all ranks equal
    found = ids(ProductFilters(search="lamp"))

    # then the three most popular lamps, highest id first
    assert found == sorted([lamps[0].id, lamps[2].id, lamps[3].id], reverse=True)


def test_search_fallback_finds_the_same_candidates_as_the_probe(monkeypatch):
    # given lamps too sparse among the most popular products for the probe
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 2)
    monkeypatch.setattr(selectors, "SEARCH_PROBE_FACTOR", 2)
    for n in range(4):
        ProductFactory(name=f"Chair {n}", description="", popularity=100 + n)
    lamps = [
        ProductFactory(name="Lamp", description="", popularity=p) for p in (2, 7, 4)
    ]
    ProductFactory(name="Lamp", description="", popularity=99, is_active=False)

    found = ids(ProductFilters(search="lamp"), ordering="-popularity")

    assert found == [lamps[1].id, lamps[2].id]


def test_rare_word_finds_every_match_behind_popular_products(monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_PROBE_FACTOR", 1)
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 5)
    for n in range(10):
        ProductFactory(name=f"Chair {n}", description="", popularity=50 + n)
    rare = [ProductFactory(name="Zeppelin", description="") for _ in range(3)]

    found = ids(ProductFilters(search="zeppelin"))

    assert found == sorted((p.id for p in rare), reverse=True)


def test_rare_word_window_cut_by_popularity_tier_keeps_the_same_candidates(
    monkeypatch,
):
    # given a word rare enough for the tier cut, under other filters too
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 2)
    monkeypatch.setattr(selectors, "SEARCH_PROBE_FACTOR", 1)
    monkeypatch.setattr(selectors, "SEARCH_FALLBACK_COST", 0)
    # A window of the ten most popular: it reaches into the lamps and, cut at
    # the tenth's tier, holds more in-stock lamps than the cap.
    monkeypatch.setattr(selectors, "SEARCH_PROBE_MARGIN", 2.5)
    for n in range(6):
        ProductFactory(name=f"Chair {n}", description="", popularity=100 + n)
    lamps = {
        p: ProductFactory(name="Lamp", description="", popularity=p, stock=5)
        for p in (2, 7, 4, 30, 12)
    }
    ProductFactory(name="Lamp", description="", popularity=99, is_active=False)
    sold_out = ProductFactory(name="Lamp", description="", popularity=50, stock=0)
    with connection.cursor() as cursor:
        # The window is sized from the planner's statistics.
        cursor.execute("ANALYZE catalog_product")

    # when searching by popularity, with and without a filter
    with CaptureQueriesContext(connection) as captured:
        found = ids(
            ProductFilters(search="lamp ", in_stock=True), ordering="-popularity"
        )
    every = ids(ProductFilters(search="lamp "), ordering="-popularity")

    # then the most popular matches, exactly, found through the tier lexeme
    assert found == [lamps[30].id, lamps[12].id]
    assert every[:2] == [sold_out.id, lamps[30].id]
    assert any("'~g" in query["sql"] for query in captured.captured_queries)


def test_tier_lexemes_follow_popularity_and_no_search_matches_them():
    product = ProductFactory(name="Lamp", description="", popularity=7)

    def lexemes():
        vector = Product.objects.values_list("search_vector", flat=True).get(
            pk=product.pk
        )
        return {word.strip("'") for word in vector.split() if "~g" in word}

    assert [tier_of(p) for p in (0, 6.99, 7, 15, 1e12)] == [0, 5, 6, 8, 63]
    assert lexemes() == {f"~g{tier}" for tier in range(7)}
    Product.objects.filter(pk=product.pk).update(popularity=15)
    assert lexemes() == {f"~g{tier}" for tier in range(9)}
    for text in ("g0", "~g1 ", "g", "~"):
        assert ids(ProductFilters(search=text)) == []


def test_paging_through_a_common_word_neither_skips_nor_repeats(monkeypatch):
    # given more matches than candidates, popularity and rank both tied in places
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 10)
    products = [
        ProductFactory(
            name="Lamp", description="Lamp" if n % 3 else "", popularity=n % 4
        )
        for n in range(25)
    ]
    by_popularity = sorted(products, key=lambda p: (p.popularity, p.id), reverse=True)
    expected = {p.id for p in by_popularity[:10]}
    everything = ids(ProductFilters(search="lamp"))

    # when walking pages of three, twice, and by an explicit ordering
    first = walk(ordering=None, page_size=3, filters=ProductFilters(search="lamp"))
    second = walk(ordering=None, page_size=3, filters=ProductFilters(search="lamp"))
    by_price = walk(ordering="price", page_size=4, filters=ProductFilters(search="lam"))

    # then every candidate once, in the same order each time
    assert first == everything == second
    assert len(first) == len(set(first)) == 10
    assert set(first) == expected
    assert sorted(by_price) == sorted(expected)


@pytest.mark.parametrize("probe_factor", [8, 1])
def test_filters_combine_with_search(monkeypatch, probe_factor):
    # the filters hold in the probe and in the fallback alike
    monkeypatch.setattr(selectors, "SEARCH_PROBE_FACTOR", probe_factor)
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 2)
    seller = SellerFactory()
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    wanted = [
        ProductFactory(
            name="Lamp", seller=seller, category=child, price=Decimal("10.00")
        ),
        ProductFactory(
            name="Lamp", seller=seller, category=root, price=Decimal("12.00")
        ),
    ]
    # Each of these matches the word, is more popular, and fails one filter.
    ProductFactory(name="Lamp", seller=seller, category=root, popularity=9, stock=0)
    ProductFactory(name="Lamp", seller=seller, popularity=9, price=Decimal("10.00"))
    ProductFactory(name="Lamp", category=child, popularity=9, price=Decimal("10.00"))
    ProductFactory(
        name="Lamp", seller=seller, category=child, popularity=9, price=Decimal("99")
    )
    ProductFactory(name="Chair", seller=seller, category=child, popularity=9)

    found = ids(
        ProductFilters(
            search="lamp",
            category=root.slug,
            min_price=Decimal("5"),
            max_price=Decimal("20"),
            in_stock=True,
            seller=seller.id,
        )
    )

    assert found == [wanted[1].id, wanted[0].id]


def test_staff_search_includes_inactive_products():
    active = ProductFactory(name="Lamp", popularity=1)
    inactive = ProductFactory(name="Lamp", is_active=False)

    page = product_list(
        filters=ProductFilters(search="lamp"),
        ordering="-popularity",
        cursor=None,
        page_size=10,
        include_inactive=True,
    )

    assert [p.id for p in page.items] == [active.id, inactive.id]


# --- Details, popular, the tree -------------------------------------------------------


def test_product_get_by_id_or_slug():
    product = ProductFactory(slug="oak-chair")

    assert selectors.product_get(lookup=str(product.id)) == product
    assert selectors.product_get(lookup=product.id) == product
    assert selectors.product_get(lookup="oak-chair") == product
    assert selectors.product_get(lookup="9" * 40) is None
    assert selectors.product_get(lookup="missing") is None


def test_inactive_product_is_visible_only_to_staff_and_its_seller():
    product = ProductFactory(is_active=False)

    assert selectors.product_get(lookup=product.id) is None
    assert selectors.product_get(lookup=product.id, user=UserFactory()) is None
    assert selectors.product_get(lookup=product.id, user=SellerFactory()) is None
    assert selectors.product_get(lookup=product.id, user=product.seller) == product
    assert selectors.product_get(lookup=product.id, user=StaffFactory()) == product


def test_popular_is_top_twenty_active_by_popularity_then_views():
    top = ProductFactory(popularity=10, view_count=1)
    tie_more_views = ProductFactory(popularity=5, view_count=9)
    tie_fewer_views = ProductFactory(popularity=5, view_count=2)
    ProductFactory(popularity=100, is_active=False)
    rest = [ProductFactory(popularity=1) for _ in range(20)]

    popular = selectors.product_popular()

    assert [p.id for p in popular[:3]] == [
        top.id,
        tie_more_views.id,
        tie_fewer_views.id,
    ]
    assert len(popular) == 20
    assert [p.id for p in popular[3:]] == [p.id for p in reversed(rest)][:17]


def test_category_tree_counts_active_products_of_whole_subtrees(
    django_assert_num_queries,
):
    home = CategoryFactory(name="Home", slug="home", position=1)
    garden = CategoryFactory(name="Garden", slug="garden", position=0)
    lighting = CategoryFactory(name="Lighting", slug="lighting", parent=home)
    lamps = CategoryFactory(name="Lamps", slug="lamps", parent=lighting)
    ProductFactory(category=home)
    ProductFactory(category=lighting)
    ProductFactory.create_batch(2, category=lamps)
    ProductFactory(category=lamps, is_active=False)

    with django_assert_num_queries(1):
        tree = selectors.category_tree()

    assert tree == [
        {
            "id": garden.id,
            "name": "Garden",
            "slug": "garden",
            "product_count": 0,
            "children": [],
        },
        {
            "id": home.id,
            "name": "Home",
            "slug": "home",
            "product_count": 4,
            "children": [
                {
                    "id": lighting.id,
                    "name": "Lighting",
                    "slug": "lighting",
                    "product_count": 3,
                    "children": [
                        {
                            "id": lamps.id,
                            "name": "Lamps",
                            "slug": "lamps",
                            "product_count": 2,
                            "children": [],
                        }
                    ],
                }
            ],
        },
    ]
