"""Demo products: realistic names, skewed prices and popularity, loaded by COPY."""

import math
import random
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import NamedTuple

from django.utils.text import slugify
from psycopg.types.json import Jsonb

from catalog.enums import Currency
from catalog.models import Product
from orders.demo import vocabulary as words
from orders.demo.bulk import bulk_copy, bulk_indexes_deferred, bulk_reserve_ids

_DAY = 86_400
# From about here, rebuilding the indexes after COPY beats updating them per row.
_BIG_LOAD = 10_000
_CURRENCIES = (Currency.USD.value, Currency.EUR.value, Currency.GBP.value)
_CURRENCY_CUM_WEIGHTS = (90, 96, 100)  # 90 % dollars, 6 % euros, 4 % pounds


class Shelf(NamedTuple):
    """A leaf category (by id) and the words its products are named from."""

    category_id: int
    department: words.Department
    leaf: words.Leaf


class ProductSummary(NamedTuple):
    """What orders need of a product (kept for every product: keep it small)."""

    id: int
    name: str
    price: Decimal
    currency: str
    units_sold: int
    created_at: datetime


class _ProductRow(NamedTuple):
    """A ``catalog_product`` row; the field names are the COPY columns.

    ``search_vector`` is a generated column and must never be written.
    """

    id: int
    seller_id: int
    category_id: int
    name: str
    slug: str
    description: str
    price: Decimal
    currency: str
    stock: int
    is_active: bool
    attributes: Jsonb
    image_url: str
    view_count: int
    units_sold: int
    popularity: float
    created_at: datetime
    updated_at: datetime


def products_create(
    rng: random.Random,
    *,
    count: int,
    shelves: Sequence[Shelf],
    seller_ids: Sequence[int],
    since: datetime,
) -> list[ProductSummary]:
    """Write ``count`` products (created over 240 days from ``since``)."""
    ids = bulk_reserve_ids(Product, count)
    summaries: list[ProductSummary] = []

    def streamed() -> Iterator[_ProductRow]:
        for row in _product_rows(rng, ids, shelves, seller_ids, since):
            summaries.append(
                ProductSummary(
                    row.id,
                    row.name,
                    row.price,
                    row.currency,
                    row.units_sold,
                    row.created_at,
                )
            )
            yield row

    # Rows stream into COPY as they are made: PostgreSQL stores one batch while
    # Python builds the next, and only the small summaries stay in memory.
    with bulk_indexes_deferred(Product) if count >= _BIG_LOAD else nullcontext():
        bulk_copy(Product, _ProductRow._fields, streamed())
    return summaries


def _product_rows(
    rng: random.Random,
    ids: Sequence[int],
    shelves: Sequence[Shelf],
    seller_ids: Sequence[int],
    since: datetime,
) -> Iterator[_ProductRow]:
    # A few big sellers and a long tail; the first (the demo seller) is biggest.
    seller_weights = list(accumulate(1 / n for n in range(1, len(seller_ids) + 1)))
    slugs: dict[str, str] = {}
    for index, product_id in enumerate(ids, start=1):
        category_id, dept, leaf = rng.choice(shelves)
        brand, noun = rng.choice(dept.brands), rng.choice(leaf.nouns)
        feature, material = rng.choice(leaf.features), rng.choice(dept.materials)
        name = rng.choice(
            (
                f"{brand} {feature} {noun}",
                f"{feature} {material.title()} {noun}",
                f"{rng.choice(words.ADJECTIVES)} {brand} {noun}",
            )
        )
        if name not in slugs:
            slugs[name] = slugify(name)
        color = rng.choice(words.COLORS)
        weight = max(5, round(rng.lognormvariate(math.log(dept.median_weight_g), 0.6)))
        attributes: dict[str, object] = {
            "color": color,
            "material": material,
            "weight_g": weight,
        }
        sizes = dept.sizes if leaf.sizes is None else leaf.sizes
        if sizes:
            attributes["size"] = rng.choice(sizes)
        facts = {
            "weight": weight,
            "color": color.lower(),
            "days": rng.randint(1, 5),
            "years": rng.randint(1, 3),
        }
        sentences = [f"{feature} {noun.lower()} by {brand}, made with {material}."]
        sentences += [
            extra.format(**facts)
            for extra in rng.sample(words.DESCRIPTION_EXTRAS, rng.randrange(3))
        ]
        # Log-normal around the department's typical price; most end in .99.
        typical = math.log(dept.median_price)
        cents = max(99, round(rng.lognormvariate(typical, 0.8) * 100))
        if rng.random() < 0.7:
            cents = cents // 100 * 100 + 99
        # Pareto views (a few hits, a long Zipf-like tail); sales follow views.
        views = min(2_000_000, int((rng.paretovariate(1.2) - 1) * 40))
        sold = int(views * rng.uniform(0.005, 0.06))
        created_at = since + timedelta(seconds=rng.randrange(240 * _DAY))
        yield _ProductRow(
            id=product_id,
            seller_id=rng.choices(seller_ids, cum_weights=seller_weights)[0],
            category_id=category_id,
            name=name,
            slug=f"{slugs[name]}-{index}",
            description=" ".join(sentences),
            price=Decimal(cents).scaleb(-2),
            currency=rng.choices(_CURRENCIES, cum_weights=_CURRENCY_CUM_WEIGHTS)[0],
            stock=0 if rng.random() < 0.05 else rng.randint(1, 500),
            is_active=rng.random() < 0.98,
            attributes=Jsonb(attributes),
            image_url="",
            view_count=views,
            units_sold=sold,
            popularity=round(math.log1p(views) + 3 * math.log1p(sold), 4),
            created_at=created_at,
            updated_at=created_at + timedelta(seconds=rng.randrange(30 * _DAY)),
        )
