"""Reads of the catalog: product lists and details, the category tree, popular.

Every public read is a function of its arguments only (never of who asks,
staff views of inactive products aside), so a response cache can wrap the
GET views later without knowing how they are computed.
"""

import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVectorField,
)
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

from catalog.keyset import (
    ORDERINGS,
    Cursor,
    Ordering,
    Page,
    keyset_walk,
    paginate,
    walks_descending,
)
from catalog.models import Category, Product
from catalog.tiers import TierQuery, tier_of

DEFAULT_ORDERING = "-created_at"
# Ranking reads each candidate's vector; capping the candidates keeps a
# common word as cheap as a rare one (see _search_candidates).
SEARCH_CANDIDATES = 1000
# A window of up to this many times SEARCH_CANDIDATES of the most popular
# products (a word in at least 1 product in 8 fills the cap from them) is
# walked row by row; a larger one is read as a bitmap (_search_candidates).
SEARCH_PROBE_FACTOR = 8
# The probe's window is this much above what the estimated share of matches
# needs, so an estimate a little high still fills the cap.
SEARCH_PROBE_MARGIN = 1.25
# A match read by the fallback (a heap row) costs about this many index
# tuples of the popularity window (EXPLAIN ANALYZE at 1M products): beyond,
# the window is cut by popularity tier inside the GIN index instead.
SEARCH_FALLBACK_COST = 10
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


def _filter_condition(
    filters: ProductFilters, *, include_inactive: bool, category: bool = True
) -> Q | None:
    """The filters (search aside) as one condition; None when no row can match.

    ``category=False`` leaves the category filter out (the caller applies it).
    """
    condition = Q() if include_inactive else Q(is_active=True)
    if filters.category is not None and category:
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
    queryset = Product.objects.filter(condition)
    if filters.category is not None and not include_inactive:
        queryset = queryset.filter(
            id__in=_category_candidates(
                filters, ordering=spec, cursor=cursor, page_size=page_size
            )
        )
    return paginate(
        _as_rows(queryset), ordering=spec, cursor=cursor, page_size=page_size
    )


def _category_candidates(
    filters: ProductFilters,
    *,
    ordering: Ordering,
    cursor: Cursor | None,
    page_size: int,
) -> RawSQL:
    """Ids of the page's rows, and a few more, for a category filter.

    Planned as one query, a subtree filter walks a global ordering index
    until a page of matches turns up: the planner cannot estimate how
    selective a subtree (and a price range within it) is, and a narrow one
    reads most of the index (EXPLAIN at 1M products: 17,000 rows for one page,
    0.5 s). Here each category of the subtree gives its own first
    ``page_size + 1`` matches from the cursor on, read from a partial index on
    ``(category, field, id)`` that holds ``price`` too (index-only: a
    non-matching price costs an index tuple, not a heap row), and the first
    ``page_size + 1`` of their union are the candidates. Every row of the page
    is among the first ``page_size + 1`` of its own category, so the page
    over the candidates (the caller re-applies every filter) is the page over
    all matches. The cost follows the subtree's categories, not the table.
    """
    rest = _filter_condition(filters, include_inactive=False, category=False)
    lookup = _id_or_slug(filters.category) if filters.category is not None else None
    if rest is None or lookup is None:
        raise ValueError("no candidates for a filter that matches nothing")
    column, value = lookup
    node = RawSQL("category_node.id", ())  # no input
    per_category = keyset_walk(
        Product.objects.filter(rest, category_id=node),
        ordering=ordering,
        cursor=cursor,
    ).values("id", ordering.field)[: page_size + 1]
    per_sql, per_params = _sql(per_category)
    subtree = _subtree(column, value)
    direction = "DESC" if walks_descending(ordering, cursor) else "ASC"
    field = connection.ops.quote_name(ordering.field)
    # Both fragments come from the ORM compiler (the subtree is a constant
    # with a bound parameter); user input is in the params.
    sql = (
        f"SELECT cand.id FROM ({subtree.sql}) category_node(id)"  # noqa: S608
        f" CROSS JOIN LATERAL ({per_sql}) cand"
        f" ORDER BY cand.{field} {direction}, cand.id {direction} LIMIT %s"
    )
    return RawSQL(sql, (*subtree.params, *per_params, page_size + 1))  # noqa: S611


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


def _estimated_rows(queryset: QuerySet) -> float:
    """The planner's row estimate for ``queryset`` (planning only, no execution)."""
    sql, params = _sql(queryset.values("id"))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


@dataclass(frozen=True)
class _Window:
    """How many of the most popular active products the window spans (0:
    none, the fallback alone), and whether it is cut by popularity tier."""

    size: int = 0
    tiered: bool = False


def _probe_window(condition: Q, *, query: SearchQuery) -> _Window:
    """The window of the most popular active products to look in first.

    Only the cost depends on it (``_search_candidates`` gives the same rows
    either way). The window holds about ``share * window`` matches, ``share``
    being the matches' share of the active products (the planner's estimate,
    from the tsvector statistics), so it is sized to fill the cap with a
    margin. Its price is index tuples of the popularity index (two passes);
    the fallback's is a heap row per match. A rare word's window would be
    most of the table: it is then cut by popularity tier inside the GIN
    index (``catalog.tiers``), at the price of the word's index entries only.
    """
    base = SEARCH_PROBE_FACTOR * SEARCH_CANDIDATES
    matches = _estimated_rows(Product.objects.filter(condition, search_vector=query))
    active = _estimated_rows(Product.objects.filter(is_active=True))
    if matches < SEARCH_CANDIDATES or active <= 0:
        # Too few matches to fill the cap: the window could only fall short.
        return _Window()
    needed = SEARCH_PROBE_MARGIN * SEARCH_CANDIDATES * active / matches
    tiered = needed > base and needed > SEARCH_FALLBACK_COST * matches
    return _Window(max(base, math.ceil(needed)), tiered)


def _popularity_floor(size: int) -> float | None:
    """About the popularity of the ``size``-th most popular active product
    (None if there are fewer), from the column's statistics.

    Any floor gives the same candidates (a window short of the cap falls back
    to all matches), so an estimate will do: the histogram costs a catalog
    read, the exact value an index walk of ``size`` tuples (10 ms for 60,000).
    The statistics' bucket boundary at or below the target errs towards a
    larger window. Without statistics, the exact value.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.histogram_bounds::text::float8[],"
            " s.most_common_vals::text::float8[], s.most_common_freqs,"
            " s.null_frac, c.reltuples"
            " FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename"
            " WHERE s.schemaname = current_schema() AND s.tablename = %s"
            " AND s.attname = 'popularity' AND c.relkind = 'r'",
            [Product._meta.db_table],
        )
        row = cursor.fetchone()
    if row is not None and row[0] and row[4] > 0:
        bounds, common, freqs, null_frac, rows = row
        common, freqs = common or [], freqs or []
        spread = 1.0 - null_frac - sum(freqs)
        share = size / rows
        last = len(bounds) - 1
        for index in range(last, -1, -1):
            above = spread * (last - index) / last
            above += sum(
                f for v, f in zip(common, freqs, strict=True) if v >= bounds[index]
            )
            if above >= share:
                return float(bounds[index])
        # The window would be (about) the whole table: no floor.
        return None
    values = list(
        Product.objects.filter(is_active=True)
        .order_by("-popularity", "-id")
        .values_list("popularity", flat=True)[size - 1 : size]
    )
    return values[0] if values else None


def _search_candidates(
    condition: Q, *, query: SearchQuery, include_inactive: bool, column: str
) -> tuple[str, tuple[Any, ...]]:
    """SQL of the ``SEARCH_CANDIDATES`` most popular matches (popularity, then
    id, descending) as rows ``(id, column)``, some possibly twice: the same
    rows for every page while the data stands still.

    A GIN bitmap alone (the fallback) gathers every match, a heap row each,
    before any LIMIT applies, so its cost grows with the number of matches:
    at 1M products a word in 2 % of them read 20,000 scattered heap pages
    (0.3 s). ``_probe_window`` sizes a window of the most popular active
    products expected to hold the cap. A small window (a common word) is
    walked down ``product_popularity_idx``, testing each row, stopping at the
    cap. A larger one (a word in a few percent) is a bitmap: the GIN bitmap
    ANDed with the popularity index's ``popularity >= floor``, ``floor``
    being the window's last popularity, so only the matches inside are read
    from the heap. A window larger still (a rare word: most of the table) is
    cut inside the GIN index instead, the word ANDed with the lexeme of the
    floor's popularity tier (``catalog.tiers``): only the matches of that
    tier and up are read from the heap. When the window holds the cap, these
    are exactly the most popular matches: every match outside is less
    popular than every match inside. Only when it falls short (the estimate
    was high, or narrow filters) does the fallback run over all matches; its
    rows include the window's, so the union is the fallback's set. Ordering
    by negated columns, which no index gives, keeps the planner from an
    unbounded walk of the popularity index when its estimate of the word is
    wrong.
    """
    fallback = (
        Product.objects.filter(condition, search_vector=query)
        .order_by((-F("popularity")).asc(), (-F("id")).asc())
        .values("id", column)
    )
    window = _Window()
    if not include_inactive:
        # The popularity index (and the tier cut) holds active products only.
        window = _probe_window(condition, query=query)
    window_size = window.size
    if not window_size:
        return _sql(fallback[:SEARCH_CANDIDATES])
    if window_size <= SEARCH_PROBE_FACTOR * SEARCH_CANDIDATES:
        hit = ExpressionWrapper(
            condition & Q(search_vector=query), output_field=BooleanField()
        )
        # Not filtered, so narrow filters cannot stretch the walk.
        walk = (
            Product.objects.filter(is_active=True)
            .annotate(hit=hit)
            .order_by("-popularity", "-id")
            .values("id", "popularity", "hit", column)[:window_size]
        )
        walk_sql, walk_params = _sql(walk)
        quoted = connection.ops.quote_name(column)
        # The fragment comes from the ORM compiler; user input is in params.
        window_sql = (
            f"SELECT w.id, w.{quoted} FROM ({walk_sql}) w WHERE w.hit"  # noqa: S608
            " ORDER BY w.popularity DESC, w.id DESC LIMIT %s"
        )
        window_params = (*walk_params, SEARCH_CANDIDATES)
    else:
        floor = _popularity_floor(window_size)
        if floor is None:
            return _sql(fallback[:SEARCH_CANDIDATES])
        if window.tiered:
            tier = tier_of(floor)
            if tier <= 0:
                return _sql(fallback[:SEARCH_CANDIDATES])
            # Tier ``tier`` and up holds every product at least as popular as
            # the floor, and is less popular nowhere than what it leaves out.
            cut = Product.objects.filter(
                condition, is_active=True, search_vector=query & TierQuery(tier)
            )
        else:
            cut = fallback.filter(is_active=True, popularity__gte=floor)
        cut = cut.order_by((-F("popularity")).asc(), (-F("id")).asc()).values(
            "id", column
        )
        window_sql, window_params = _sql(cut[:SEARCH_CANDIDATES])
    # An uncorrelated condition: PostgreSQL tests it once, before the scan.
    gate = RawSQL(
        "(SELECT count(*) FROM search_probe) < %s",
        (SEARCH_CANDIDATES,),
        output_field=BooleanField(),
    )
    fallback_sql, fallback_params = _sql(fallback.filter(gate)[:SEARCH_CANDIDATES])
    # Both fragments come from the ORM compiler; user input is in the params.
    sql = (
        f"WITH search_probe AS MATERIALIZED ({window_sql})"  # noqa: S608
        f" SELECT * FROM search_probe UNION ALL ({fallback_sql})"
    )
    return sql, (*window_params, *fallback_params)


def _rank(vector: Any, query: SearchQuery) -> Cast:
    """Relevance as the list orders by it (a float8, exact in a cursor)."""
    return Cast(SearchRank(vector, query, cover_density=True), FloatField())


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
    keyset, in one query.

    The candidates carry what the order needs (their tsvector, or the
    ordering's column) from the rows the candidate plans read anyway, so only
    the page's own rows are read again (by id) and joined to their category:
    ranking the candidates after fetching each by id cost 1,000 index and
    heap reads per page at 1M products. The page is then the plain keyset
    page over those ids, so its rows, order and cursors are the ones the
    keyset gives over all candidates.
    """
    ranked = ordering.key == "rank"
    column = "search_vector" if ranked else ordering.field
    candidates_sql, candidates_params = _search_candidates(
        condition, query=query, include_inactive=include_inactive, column=column
    )
    if ranked:
        compiler_query = Product.objects.all().query
        compiler = compiler_query.get_compiler(connection=connection)
        vector = RawSQL("c.search_vector", (), output_field=SearchVectorField())
        key_sql, key_params = compiler.compile(
            _rank(vector, query).resolve_expression(compiler_query)
        )
    else:
        key_sql, key_params = f"c.{connection.ops.quote_name(column)}", []
    descending = walks_descending(ordering, cursor)
    direction = "DESC" if descending else "ASC"
    after, after_params = "", ()
    if cursor is not None:
        after = f" WHERE (k.key, k.id) {'<' if descending else '>'} (%s, %s)"
        after_params = (ordering.parse(cursor.value), cursor.id)
    # The fragments come from the ORM compiler; user input is in the params.
    page_sql = (
        "SELECT k.id FROM (SELECT DISTINCT c.id, "  # noqa: S608
        f"{key_sql} AS key FROM ({candidates_sql}) c) k{after}"
        f" ORDER BY k.key {direction}, k.id {direction} LIMIT %s"
    )
    page_params = (
        *key_params,
        *candidates_params,
        *after_params,
        page_size + 1,
    )
    queryset = Product.objects.filter(id__in=RawSQL(page_sql, page_params))  # noqa: S611
    extra: tuple[str, ...] = ()
    if ranked:
        queryset = queryset.annotate(rank=_rank(F("search_vector"), query))
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
