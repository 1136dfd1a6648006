"""Issue 9: the reshaped list queries return exactly what the plain ones did.

The category filter reads per-category candidates (``_category_candidates``);
these tests page through a seeded tree with both that query and the plain one
(the whole filter in one WHERE, as before) and compare every page.
"""

import random
from decimal import Decimal

import pytest
from django.contrib.postgres.search import SearchRank
from django.db import connection
from django.db.models import F, FloatField, Q
from django.db.models.functions import Cast

from catalog import selectors
from catalog.keyset import ORDERINGS, PUBLIC_ORDERINGS, Cursor, Page, paginate
from catalog.models import Product
from catalog.selectors import ProductFilters, product_list
from tests.factories import CategoryFactory, SellerFactory

pytestmark = pytest.mark.django_db

PRICES = [Decimal(p) for p in ("5", "9.99", "10", "20", "20", "35.5", "50", "80")]
NAMES = ["Lamp", "Mug", "Desk", "Chair", "Kettle"]


def plain_page(
    filters: ProductFilters, *, ordering: str, cursor: Cursor | None, size: int
) -> Page:
    """The page as one query over the whole filter: the reference."""
    condition = selectors._filter_condition(filters, include_inactive=False)
    if condition is None:
        return Page(items=[], next=None, previous=None)
    queryset = selectors._as_rows(Product.objects.filter(condition))
    return paginate(
        queryset, ordering=ORDERINGS[ordering], cursor=cursor, page_size=size
    )


@pytest.fixture
def tree() -> dict[str, int]:
    """Three levels (products at every level, some nodes empty), ties on every
    ordering column, a few inactive products and a product-less leaf."""
    rng = random.Random(9)
    seller = SellerFactory()
    root = CategoryFactory(slug="root")
    mids = [CategoryFactory(parent=root, slug=f"mid-{n}") for n in range(3)]
    leaves = [
        CategoryFactory(parent=mid, slug=f"leaf-{m}-{n}")
        for m, mid in enumerate(mids)
        for n in range(3)
    ]
    CategoryFactory(parent=mids[0], slug="empty-leaf")
    other = CategoryFactory(slug="other")
    homes = [root, *mids, *leaves, *leaves, *leaves, other]
    Product.objects.bulk_create(
        Product(
            seller=seller,
            category=rng.choice(homes),
            name=f"{rng.choice(NAMES)} {rng.randrange(4)}",
            slug=f"p-{n}",
            price=rng.choice(PRICES),
            stock=rng.choice((0, 3)),
            popularity=float(rng.randrange(5)),
            is_active=rng.random() > 0.1,
        )
        for n in range(300)
    )
    with connection.cursor() as cursor:
        # Ties on created_at too (bulk_create stamps one instant per batch).
        cursor.execute(
            "UPDATE catalog_product SET created_at = now() - (id % 9) * interval '1 h'"
        )
    return {"root": root.id, "mid": mids[1].id, "leaf": leaves[4].id}


def walk_both(filters: ProductFilters, ordering: str, size: int) -> int:
    """Page forwards to the end and back to the start with both queries,
    asserting equal pages and cursors; returns the rows seen."""
    cursor: Cursor | None = None
    seen: list[int] = []
    forwards: list[Page] = []
    while True:
        new = product_list(
            filters=filters, ordering=ordering, cursor=cursor, page_size=size
        )
        old = plain_page(filters, ordering=ordering, cursor=cursor, size=size)
        assert new == old, (filters, ordering, cursor)
        forwards.append(new)
        seen.extend(row.id for row in new.items)
        if new.next is None:
            break
        cursor = new.next
    cursor = forwards[-1].previous
    while cursor is not None:
        new = product_list(
            filters=filters, ordering=ordering, cursor=cursor, page_size=size
        )
        old = plain_page(filters, ordering=ordering, cursor=cursor, size=size)
        assert new == old, (filters, ordering, cursor)
        cursor = new.previous
    assert len(seen) == len(set(seen))
    return len(seen)


@pytest.mark.parametrize("ordering", PUBLIC_ORDERINGS)
def test_category_pages_equal_the_plain_query(tree, ordering):
    cases = [
        ProductFilters(category=tree["root"]),
        ProductFilters(category="root", min_price=Decimal(10), max_price=Decimal(50)),
        ProductFilters(category=str(tree["mid"]), min_price=Decimal("9.99")),
        ProductFilters(category=tree["mid"], max_price=Decimal(20), in_stock=True),
        ProductFilters(category=tree["leaf"], in_stock=False),
        ProductFilters(category="root", min_price=Decimal(80), max_price=Decimal(80)),
        ProductFilters(category="empty-leaf"),
        ProductFilters(category="root", min_price=Decimal(1000)),
    ]
    total = 0
    for filters in cases:
        for size in (6, 20):
            total += walk_both(filters, ordering, size)
    assert total > 400  # the cases are not all empty


def test_category_pages_with_a_seller_and_an_unknown_category(tree):
    seller = Product.objects.values_list("seller_id", flat=True).first()
    assert walk_both(ProductFilters(category="root", seller=seller), "price", 13) > 0
    for unknown in ("no-such-slug", 987654321, "bad slug!"):
        assert walk_both(ProductFilters(category=unknown), "name", 5) == 0


def plain_search_page(
    filters: ProductFilters, *, ordering: str | None, cursor: Cursor | None
) -> Page:
    """A search page as one plain query: the reference."""
    query = selectors.search_query(filters.search)
    matches = Product.objects.filter(is_active=True, search_vector=query)
    top = matches.order_by("-popularity", "-id").values_list("id", flat=True)[
        : selectors.SEARCH_CANDIDATES
    ]
    queryset = Product.objects.filter(id__in=list(top))
    effective = selectors.product_list_ordering(ordering=ordering, search="x")
    extra: tuple[str, ...] = ()
    if effective == "rank":
        queryset = queryset.annotate(
            rank=Cast(
                SearchRank(F("search_vector"), query, cover_density=True), FloatField()
            )
        )
        extra = ("rank",)
    queryset = selectors._as_rows(queryset, *extra)
    return paginate(queryset, ordering=ORDERINGS[effective], cursor=cursor, page_size=7)


@pytest.fixture
def words() -> None:
    """Products whose words run from every product to one in fifty, with
    popularity and rank ties."""
    rng = random.Random(3)
    seller = SellerFactory()
    category = CategoryFactory()
    vocabulary = [("common", 1.0), ("half", 0.5), ("tenth", 0.1), ("rare", 0.02)]
    Product.objects.bulk_create(
        Product(
            seller=seller,
            category=category,
            name=" ".join(w for w, share in vocabulary[:2] if rng.random() < share),
            description=" ".join(w for w, share in vocabulary if rng.random() < share),
            slug=f"w-{n}",
            price=rng.choice(PRICES),
            stock=3,
            popularity=float(rng.randrange(6)),
            is_active=rng.random() > 0.05,
        )
        for n in range(400)
    )


@pytest.mark.parametrize("search", ["common ", "half ", "tenth", "rare ", "ha"])
@pytest.mark.parametrize("ordering", [None, "price", "-popularity"])
def test_search_pages_are_the_same_for_every_probe_window(
    monkeypatch, words, search, ordering
):
    # The window (and whether the probe runs at all) is chosen from planner
    # estimates: it may change the cost, never the rows.
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 30)
    if ordering != "price":
        # The window's floor from the statistics (else from the index).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalog_product")
    filters = ProductFilters(search=search)
    results = {}
    # 0: the fallback alone; up to 8 * 30: the walk; above: the bitmap window,
    # or the tier cut (the whole table at 10,000: no floor, the fallback again).
    windows = [(size, False) for size in (0, 30, 60, 240, 300, 360, 10_000)]
    windows += [(size, True) for size in (300, 360, 10_000)]
    for size, tiered in windows:
        window = selectors._Window(size, tiered)
        monkeypatch.setattr(selectors, "_probe_window", lambda *a, w=window, **k: w)
        pages, cursor = [], None
        while True:
            page = product_list(
                filters=filters, ordering=ordering, cursor=cursor, page_size=7
            )
            pages.append(page)
            if page.next is None:
                break
            cursor = page.next
        results[(size, tiered)] = pages
    assert all(pages == results[(0, False)] for pages in results.values())
    # ... and they are the pages of the plain query: the keyset over the most
    # popular matches, each row read and ranked by the ORM.
    cursor = None
    for page in results[(0, False)]:
        assert page == plain_search_page(filters, ordering=ordering, cursor=cursor)
        cursor = page.next
    seen = [row.id for page in results[(0, False)] for row in page.items]
    assert len(seen) == len(set(seen)) == 30 or search == "rare "


def test_probe_window_follows_the_estimated_share(monkeypatch, words):
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 30)
    base = selectors.SEARCH_PROBE_FACTOR * 30
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_product")

    def window(text: str) -> selectors._Window:
        query = selectors.search_query(text)
        return selectors._probe_window(Q(is_active=True), query=query)

    assert window("common ") == selectors._Window(base)  # dense: the walk
    assert window("rare ") == selectors._Window()  # fewer than the cap: fallback
    # A sparse word whose window would cost more than its matches' rows: the
    # tier cut.
    monkeypatch.setattr(selectors, "SEARCH_FALLBACK_COST", 0)
    sparse = window("tenth ")
    assert sparse.tiered and sparse.size > base


def test_popularity_floor_from_statistics_is_near_the_exact_one(words):
    exact = selectors._popularity_floor(120)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_product")
    estimated = selectors._popularity_floor(120)
    assert exact is not None and estimated is not None
    assert estimated <= exact  # errs towards a larger window
    assert selectors._popularity_floor(10_000) is None
