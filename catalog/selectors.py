"""Reads of the catalog: product lists and details, the category tree, popular.

Every public read is a function of its arguments only (never of who asks,
staff views of inactive products aside), so a response cache can wrap the
GET views later without knowing how they are computed.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from catalog.keyset import ORDERINGS, Cursor, Ordering, Page, paginate
from catalog.models import Category, Product

DEFAULT_ORDERING = "-created_at"
# Ranking reads each candidate's vector; capping the candidates keeps a
# common word as cheap as a rare one (see _search_candidates).
SEARCH_CANDIDATES = 1000
# The probe reads this many times SEARCH_CANDIDATES of the most popular
# products: a word in at least 1 product in 8 fills the cap from them.
SEARCH_PROBE_FACTOR = 8
SEARCH_MAX_WORDS = 16
# The last word is matched as a prefix from this many characters on.
SEARCH_PREFIX_MIN = 2
POPULAR_LIMIT = 20
# Ids are bigint: longer digit strings cannot name a row.
MAX_ID_DIGITS = 18

_WORD = re.compile(r"[^\W_]+")
# What SlugField accepts; anything else cannot name a row.
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
# The columns of a product in a list, read as named tuples (``_as_rows``):
# building model instances for them cost more than the query itself.
_ROW_COLUMNS = (
    "id",
    "slug",
    "name",
    "price",
    "currency",
    "stock",
    "image_url",
    "is_active",
    "created_at",
    "popularity",
    "category_id",
    "category_slug",
    "category_name",
)

_SUBTREE_SQL = """
    WITH RECURSIVE subtree(id) AS (
        SELECT id FROM catalog_category WHERE {column} = %s
        UNION
        SELECT c.id FROM catalog_category c JOIN subtree s ON c.parent_id = s.id
    )
    SELECT id FROM subtree
"""


@dataclass(frozen=True)
class ProductFilters:
    """The product list's filters; None (or "") means "do not filter"."""

    category: int | str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None
    seller: int | None = None
    search: str = ""


def search_query(text: str) -> SearchQuery | None:
    """Complete words must all match; the last word, still being typed, is a prefix.

    Only letters and digits reach ``to_tsquery``, so no input is a syntax error.
    """
    words = _WORD.findall(text.lower())[:SEARCH_MAX_WORDS]
    if not words:
        return None
    typing = not text[-1].isspace()
    if typing and len(words[-1]) < SEARCH_PREFIX_MIN:
        # Too short to narrow anything down yet: wait for the next keystroke.
        words, typing = words[:-1], False
        if not words:
            return None
    complete = words[:-1] if typing else words
    query: SearchQuery | None = None
    if complete:
        query = SearchQuery(" ".join(complete), search_type="plain", config="english")
    if typing:
        prefix = SearchQuery(f"{words[-1]}:*", search_type="raw", config="english")
        query = prefix if query is None else query & prefix
    return query


def _id_or_slug(value: int | str) -> tuple[str, int | str] | None:
    """("id", n) for a number, ("slug", s) otherwise; None when no row can match."""
    if isinstance(value, int):
        return ("id", value)
    if value.isascii() and value.isdigit():
        return ("id", int(value)) if len(value) <= MAX_ID_DIGITS else None
    return ("slug", value) if _SLUG.fullmatch(value) else None


def _subtree(column: str, value: int | str) -> RawSQL:
    """Ids of a category and its descendants, as a subquery (one recursive CTE)."""
    if column not in {"id", "slug"}:
        raise ValueError(column)
    # Only the value is user input, and it is a bound parameter.
    return RawSQL(_SUBTREE_SQL.format(column=column), [value])  # noqa: S611


def category_subtree_ids(*, category: int | str) -> list[int]:
    """The category (by id or slug) and all its descendants; [] if unknown."""
    lookup = _id_or_slug(category)
    if lookup is None:
        return []
    column, value = lookup
    return list(
        Category.objects.filter(id__in=_subtree(column, value)).values_list(
            "id", flat=True
        )
    )


def _filter_condition(filters: ProductFilters, *, include_inactive: bool) -> Q | None:
    """The filters (search aside) as one condition; None when no row can match."""
    condition = Q() if include_inactive else Q(is_active=True)
    if filters.category is not None:
        lookup = _id_or_slug(filters.category)
        if lookup is None:
            return None
        column, value = lookup
        # The subtree is computed inside the list query itself.
        condition &= Q(category_id__in=_subtree(column, value))
    if filters.min_price is not None:
        condition &= Q(price__gte=filters.min_price)
    if filters.max_price is not None:
        condition &= Q(price__lte=filters.max_price)
    if filters.in_stock is True:
        condition &= Q(stock__gt=0)
    elif filters.in_stock is False:
        condition &= Q(stock=0)
    if filters.seller is not None:
        condition &= Q(seller_id=filters.seller)
    return condition


def product_list_ordering(*, ordering: str | None, search: str) -> str:
    """The ordering a list really uses: by rank when searching without one."""
    if ordering:
        return ordering
    return "rank" if search.strip() else DEFAULT_ORDERING


def product_list(
    *,
    filters: ProductFilters,
    ordering: str | None,
    cursor: Cursor | None,
    page_size: int,
    include_inactive: bool = False,
) -> Page:
    """One keyset page of products in the list shape.

    A search covers the ``SEARCH_CANDIDATES`` most popular matches, ordered
    by rank (then id, both descending) unless ``ordering`` says otherwise; any other
    list is ordered by ``DEFAULT_ORDERING``. ``cursor.ordering`` must be the effective
    ordering (the API layer checks it).
    """
    condition = _filter_condition(filters, include_inactive=include_inactive)
    effective = product_list_ordering(ordering=ordering, search=filters.search)
    if condition is None:
        return Page(items=[], next=None, previous=None)
    if filters.search.strip():
        query = search_query(filters.search)
        if query is None:
            # Nothing searchable (only punctuation): nothing matches.
            return Page(items=[], next=None, previous=None)
        return _search_page(
            condition,
            query=query,
            include_inactive=include_inactive,
            ordering=ORDERINGS[effective],
            cursor=cursor,
            page_size=page_size,
        )
    spec = ORDERINGS[effective]
    queryset = _as_rows(Product.objects.filter(condition))
    return paginate(queryset, ordering=spec, cursor=cursor, page_size=page_size)


def _as_rows(queryset: QuerySet, *extra: str) -> QuerySet:
    """Products as named tuples of ``_ROW_COLUMNS`` (plus ``extra`` annotations),
    the category's slug and name joined in."""
    return queryset.annotate(
        category_slug=F("category__slug"), category_name=F("category__name")
    ).values_list(*_ROW_COLUMNS, *extra, named=True)


# The candidates are ordered explicitly, so the plan cannot change which rows
# they are; these settings only keep it cheap. No sequential scan: the probe
# walks an index and the fallback reads only the matches' pages. No parallel
# workers or JIT: their start-up costs more than these millisecond queries.
_CANDIDATE_PLAN = {
    "enable_seqscan": "off",
    "max_parallel_workers_per_gather": "0",
    "jit": "off",
}


def _set_config(cursor: Any, settings: dict[str, str]) -> None:
    sql = ", ".join("set_config(%s, %s, true)" for _ in settings)
    cursor.execute(f"SELECT {sql}", [v for pair in settings.items() for v in pair])


@contextmanager
def _planner_settings(settings: dict[str, str]) -> Iterator[None]:
    """Planner settings for the queries inside, local to their transaction."""
    outer = connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        previous: dict[str, str] = {}
        if outer:
            names = list(settings)
            current = ", ".join("current_setting(%s)" for _ in names)
            cursor.execute(f"SELECT {current}", names)
            previous = dict(zip(names, cursor.fetchone(), strict=True))
        _set_config(cursor, settings)
        yield
        # Our own transaction ends here and takes the settings with it; an
        # outer one gets its values back. (On error, the rollback does it.)
        if previous:
            _set_config(cursor, previous)


def _sql(queryset: QuerySet) -> tuple[str, tuple[Any, ...]]:
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def _search_candidates(
    condition: Q, *, query: SearchQuery, include_inactive: bool
) -> QuerySet | RawSQL:
    """Ids of the ``SEARCH_CANDIDATES`` most popular matches (popularity, then
    id, descending): the same rows for every page while the data stands still.

    Two plans give that set, and a GIN bitmap alone suits neither end: it
    gathers every match before any LIMIT applies, so its cost grows with the
    number of matches. The probe walks ``product_popularity_idx`` over the
    ``SEARCH_PROBE_FACTOR * SEARCH_CANDIDATES`` most popular active products,
    testing each one, and stops at the cap: a common word fills it after a few
    thousand rows whatever the table's size, and when it does these are
    exactly the most popular matches. Only when it falls short (a rarer word,
    or narrow filters) does the fallback run: the GIN bitmap with a top-N sort,
    over few matches. Its rows include the probe's, so the union is the
    fallback's set. The fallback orders by negated columns, an order no index
    gives, so the planner cannot turn it into an unbounded walk of the
    popularity index when its estimate of the word is wrong.
    """
    fallback = (
        Product.objects.filter(condition, search_vector=query)
        .order_by((-F("popularity")).asc(), (-F("id")).asc())
        .values("id")
    )
    if include_inactive:
        # The popularity index holds active products only: no probe.
        return fallback[:SEARCH_CANDIDATES]
    hit = ExpressionWrapper(
        condition & Q(search_vector=query), output_field=BooleanField()
    )
    # The window is not filtered, so narrow filters cannot stretch the walk.
    window = (
        Product.objects.filter(is_active=True)
        .annotate(hit=hit)
        .order_by("-popularity", "-id")
        .values("id", "popularity", "hit")[: SEARCH_PROBE_FACTOR * SEARCH_CANDIDATES]
    )
    # An uncorrelated condition: PostgreSQL tests it once, before the scan.
    gate = RawSQL(
        "(SELECT count(*) FROM search_probe) < %s",
        (SEARCH_CANDIDATES,),
        output_field=BooleanField(),
    )
    window_sql, window_params = _sql(window)
    fallback_sql, fallback_params = _sql(fallback.filter(gate)[:SEARCH_CANDIDATES])
    # Both fragments come from the ORM compiler; user input is in the params.
    sql = (
        "WITH search_probe AS MATERIALIZED ("  # noqa: S608
        f"SELECT w.id FROM ({window_sql}) w WHERE w.hit"
        " ORDER BY w.popularity DESC, w.id DESC LIMIT %s)"
        f" SELECT id FROM search_probe UNION ALL ({fallback_sql})"
    )
    params = (*window_params, SEARCH_CANDIDATES, *fallback_params)
    return RawSQL(sql, params)  # noqa: S611


def _search_page(
    condition: Q,
    *,
    query: SearchQuery,
    include_inactive: bool,
    ordering: Ordering,
    cursor: Cursor | None,
    page_size: int,
) -> Page:
    """A page of search results over the candidates (``_search_candidates``):
    only they are ranked (or sorted by the explicit ordering) and paged by
    keyset, in one query."""
    candidates = _search_candidates(
        condition, query=query, include_inactive=include_inactive
    )
    queryset = Product.objects.filter(id__in=candidates)
    extra: tuple[str, ...] = ()
    if ordering.key == "rank":
        queryset = queryset.annotate(
            rank=Cast(
                SearchRank(F("search_vector"), query, cover_density=True),
                FloatField(),
            )
        )
        extra = ("rank",)
    queryset = _as_rows(queryset, *extra)
    with _planner_settings(_CANDIDATE_PLAN):
        return paginate(queryset, ordering=ordering, cursor=cursor, page_size=page_size)


def product_can_see(*, product: Product, user: Any) -> bool:
    """Active products are public; inactive ones only to staff and their seller."""
    if product.is_active:
        return True
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_staff) or product.seller_id == user.pk


def product_get(*, lookup: int | str, user: Any = None) -> Product | None:
    """A product by id or slug (a number is an id) if ``user`` may see it."""
    key = _id_or_slug(lookup)
    if key is None:
        return None
    column, value = key
    product = (
        Product.objects.select_related("category", "seller")
        .defer("search_vector")
        .filter(**{column: value})
        .first()
    )
    if product is None or not product_can_see(product=product, user=user):
        return None
    return product


def product_popular(*, limit: int = POPULAR_LIMIT) -> list[Any]:
    """The top active products by popularity, then views (newest first on ties),
    as list rows (``_ROW_COLUMNS``)."""
    return list(
        _as_rows(
            Product.objects.filter(is_active=True).order_by(
                "-popularity", "-view_count", "-id"
            )
        )[:limit]
    )


def product_ids_by_slug(slugs: set[str]) -> dict[str, int]:
    """``{slug: id}`` for the products that exist (activity events name the
    product a detail read looked up, which may be its slug)."""
    return dict(Product.objects.filter(slug__in=slugs).values_list("slug", "id"))


def category_get(*, category_id: int) -> Category | None:
    return Category.objects.filter(pk=category_id).first()


def category_tree() -> list[dict[str, Any]]:
    """``[{id, name, slug, product_count, children}]`` from one query.

    ``product_count`` counts active products in the node and all below it.
    """
    rows = list(
        Category.objects.annotate(
            direct=Count("products", filter=Q(products__is_active=True))
        )
        .order_by("position", "name", "id")
        .values("id", "name", "slug", "parent_id", "direct")
    )
    nodes = {
        row["id"]: {
            "id": row["id"],
            "name": row["name"],
            "slug": row["slug"],
            "product_count": 0,
            "children": [],
        }
        for row in rows
    }
    roots = []
    for row in rows:
        parent = nodes.get(row["parent_id"]) if row["parent_id"] else None
        (parent["children"] if parent else roots).append(nodes[row["id"]])
    direct = {row["id"]: row["direct"] for row in rows}

    def total(node: dict[str, Any]) -> int:
        node["product_count"] = direct[node["id"]] + sum(
            total(child) for child in node["children"]
        )
        return node["product_count"]

    for root in roots:
        total(root)
    return roots
