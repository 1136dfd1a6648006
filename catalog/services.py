"""Writes of the catalog: products and categories.

Every catalog write goes through one of these functions (and nothing else
writes catalog rows from a request), so what a write must cause afterwards,
such as cache invalidation on commit, has exactly one place to go.
"""

import re
import secrets
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.text import slugify

import jobs
from accounts.models import User
from accounts.services import notify
from catalog import images
from catalog.cache import catalog_invalidate
from catalog.enums import Currency
from catalog.exceptions import (
    CategoryCycle,
    CategoryNotEmpty,
    ImageUploadGone,
    InsufficientStock,
    SlugTaken,
)
from catalog.models import Category, Product
from catalog.selectors import category_subtree_ids
from jobs.enums import JobStatus
from jobs.models import JobRecord

logger = structlog.get_logger("bazaar.catalog")

PRODUCT_UPDATE_FIELDS = frozenset(
    {
        "name",
        "slug",
        "description",
        "price",
        "currency",
        "stock",
        "category",
        "attributes",
        "image_url",
        "is_active",
    }
)
CATEGORY_UPDATE_FIELDS = frozenset({"name", "slug", "parent", "position"})
# Advisory lock id held while the category tree is being re-parented.
TREE_LOCK_KEY = 0x6361745F74726565  # "cat_tree"
SEARCH_INDEX = "product_search_idx"
_LETTER = re.compile(r"[a-zA-Z]")
_SLUG_ATTEMPTS = 5
IMAGE_JOB = "images.process"
LOW_STOCK_JOB = "notifications.low_stock"


def slug_from_name(name: str, *, fallback: str, max_length: int) -> str:
    """A slug for ``name`` that contains a letter, leaving room for a suffix."""
    base = slugify(name)[: max_length - 7].strip("-")
    if not _LETTER.search(base):
        base = f"{fallback}-{base}".strip("-")[: max_length - 7]
    return base


def _save_with_slug(
    instance: models.Model,
    *,
    explicit: bool,
    exists: Callable[[str], bool],
    save: Callable[[], None],
) -> None:
    """Save ``instance``; a generated slug gets a short random suffix on collision.

    An explicit slug that is taken raises SlugTaken; the serializers check it
    first, so this only happens when two writers race for the same slug.
    """
    base = instance.slug  # type: ignore[attr-defined]
    for attempt in range(_SLUG_ATTEMPTS):
        taken = attempt > 0 or (not explicit and exists(base))
        if taken:
            if explicit:
                raise SlugTaken
            instance.slug = f"{base}-{secrets.token_hex(3)}"  # type: ignore[attr-defined]
        try:
            with transaction.atomic():
                save()
        except IntegrityError as exc:
            # Someone else took the slug since we looked; other errors are bugs.
            if "slug" not in str(exc):
                raise
            continue
        return
    raise SlugTaken


def _product_changed(*identities: Any) -> None:
    """Every product write ends here: lists, popular, the tree's counts and the
    product's own detail (by id and by each slug it answered to) after commit."""
    catalog_invalidate(
        namespaces=["products", "popular", "categories"],
        tags=[f"product:{identity}" for identity in identities if identity],
    )


def _category_changed() -> None:
    """Category writes reach every page that embeds a category."""
    catalog_invalidate(namespaces=["categories", "products", "product", "popular"])


@transaction.atomic
def product_create(
    *,
    seller: User,
    category: Category,
    name: str,
    price: Decimal,
    currency: str = Currency.USD,
    stock: int = 0,
    description: str = "",
    attributes: dict[str, Any] | None = None,
    image_url: str = "",
    slug: str | None = None,
    is_active: bool = True,
) -> Product:
    """Create a product sold by ``seller``; no slug given: one from the name."""
    max_length = Product._meta.get_field("slug").max_length or 220
    product = Product(
        seller=seller,
        category=category,
        name=name,
        slug=slug or slug_from_name(name, fallback="product", max_length=max_length),
        description=description,
        price=price,
        currency=currency,
        stock=stock,
        attributes=attributes or {},
        image_url=image_url,
        is_active=is_active,
    )
    _save_with_slug(
        product,
        explicit=bool(slug),
        exists=lambda value: Product.objects.filter(slug=value).exists(),
        save=product.save,
    )
    _product_changed(product.pk, product.slug)
    return product


@transaction.atomic
def product_update(*, product: Product, data: dict[str, Any]) -> Product:
    """Change the given fields of ``product`` (a PUT passes them all)."""
    unknown = set(data) - PRODUCT_UPDATE_FIELDS
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    product = Product.objects.select_for_update().get(pk=product.pk)
    old_slug = product.slug
    old_stock = product.stock
    for field, value in data.items():
        setattr(product, field, value)
    fields = [*data, "updated_at"]
    if "stock" in data:
        _low_stock_queue(product_id=product.pk, before=old_stock, after=product.stock)
        if old_stock < settings.LOW_STOCK_THRESHOLD <= product.stock:
            product.low_stock_alerted_at = None  # back up: the next fall alerts
            fields.append("low_stock_alerted_at")
    _save_with_slug(
        product,
        explicit=True,
        exists=lambda value: (
            Product.objects.filter(slug=value).exclude(pk=product.pk).exists()
        ),
        save=lambda: product.save(update_fields=fields),
    )
    _product_changed(product.pk, product.slug, old_slug)
    return product


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Soft delete: orders keep referring to the product, lists stop showing it."""
    product.is_active = False
    product.save(update_fields=["is_active", "updated_at"])
    _product_changed(product.pk, product.slug)


@transaction.atomic
def product_image_upload(
    *, product: Product, file: File, info: images.ImageInfo, user: User | None
) -> str:
    """Keep a checked upload under tmp/ and queue its processing; returns the job id.

    The variants reach the product when the job succeeds. The file is written
    before the job row commits: a rollback leaves an orphan under tmp/, which
    the scheduled cleanup of tmp/ removes after a day.
    """
    path = images.upload_store(file=file, info=info)
    job = jobs.enqueue(
        IMAGE_JOB,
        {
            "product_id": product.pk,
            "path": path,
            "uploaded_at": timezone.now().isoformat(),
        },
        user=user,
    )
    return str(job.pk)


def tmp_cleanup(
    *, now: datetime, older_than_hours: int | None = None
) -> dict[str, int]:
    """Delete files under ``tmp/`` older than ``TMP_MAX_AGE_HOURS`` (24).

    An upload a queued or running image job still names is kept whatever its
    age (a job waiting out its retries must find its file); one whose job
    failed for good is fair game once old, so an admin retry after that fails
    with "upload gone" rather than keeping files forever.
    """
    hours = settings.TMP_MAX_AGE_HOURS if older_than_hours is None else older_than_hours
    cutoff = now - timedelta(hours=hours)
    pending = set(
        JobRecord.objects.filter(
            type=IMAGE_JOB, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        ).values_list("payload__path", flat=True)
    )
    deleted = kept = 0
    for path, modified in images.tmp_files():
        if modified >= cutoff:
            continue
        if path in pending:
            kept += 1
            continue
        images.upload_delete(path)
        deleted += 1
    if deleted:
        logger.info("tmp_cleaned", deleted=deleted, kept=kept, hours=hours)
    return {"deleted": deleted, "kept": kept}


def product_image_process(
    *, product_id: int, path: str, key: str, uploaded_at: datetime
) -> dict[str, Any]:
    """Make a stored upload the product's image set (the ``images.process`` job).

    Safe to run again: the variants' names depend only on the product and
    ``key`` (the job id), and a run that finds its upload already applied and
    deleted has nothing left to do. The product changes only once every
    variant is stored, so it never points at half a set. Raises ImageError
    subclasses (corrupt, hostile, gone) when retrying cannot help; the upload
    then stays in tmp/ for inspection until the tmp/ cleanup.
    """
    if not images.upload_is_ours(path):
        raise ImageUploadGone("The job does not name an upload.")
    product = Product.objects.filter(pk=product_id).only("id", "images").first()
    if product is None:
        raise ImageUploadGone("The product no longer exists.")
    if not images.upload_exists(path):
        urls = images.variant_urls(product_id=product_id, key=key)
        if [image["url"] for image in product.images] == urls:
            return {"product_id": product_id, "applied": True, "images": product.images}
        raise ImageUploadGone
    variants = images.image_render(images.upload_read(path))
    stored = images.variants_store(variants, product_id=product_id, key=key)
    try:
        applied = product_images_replace(
            product_id=product_id, image_set=stored, uploaded_at=uploaded_at
        )
    except ImageUploadGone:  # the product was deleted meanwhile
        images.variants_delete(product_id=product_id, key=key)
        raise
    if not applied:
        images.variants_delete(product_id=product_id, key=key)
    images.upload_delete(path)
    return {"product_id": product_id, "applied": applied, "images": stored}


@transaction.atomic
def product_images_replace(
    *, product_id: int, image_set: list[dict[str, Any]], uploaded_at: datetime
) -> bool:
    """Replace the product's image set; ``image_url`` becomes the card variant.

    One image set per product: the newest upload wins, by upload time, so a
    slow job for an older upload finishing last changes nothing (returns
    False). The same upload applied twice writes the same values.
    """
    product = Product.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise ImageUploadGone("The product no longer exists.")
    newest = product.images_uploaded_at
    if newest is not None and newest > uploaded_at:
        return False
    card = next(image for image in image_set if image["size"] == images.CARD)
    product.images = image_set
    product.image_url = card["url"]
    product.images_uploaded_at = uploaded_at
    product.save(
        update_fields=["images", "image_url", "images_uploaded_at", "updated_at"]
    )
    _product_changed(product.pk, product.slug)
    return True


@transaction.atomic
def category_create(
    *,
    name: str,
    slug: str | None = None,
    parent: Category | None = None,
    position: int = 0,
) -> Category:
    """Create a category (top level when ``parent`` is None)."""
    max_length = Category._meta.get_field("slug").max_length or 140
    category = Category(
        name=name,
        slug=slug or slug_from_name(name, fallback="category", max_length=max_length),
        parent=parent,
        position=position,
    )
    _save_with_slug(
        category,
        explicit=bool(slug),
        exists=lambda value: Category.objects.filter(slug=value).exists(),
        save=category.save,
    )
    _category_changed()
    return category


@transaction.atomic
def category_update(*, category: Category, data: dict[str, Any]) -> Category:
    """Change the given fields; a category cannot move under its own subtree."""
    unknown = set(data) - CATEGORY_UPDATE_FIELDS
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    if data.get("parent") is not None:
        # Serialise tree moves so two concurrent moves cannot build a cycle.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TREE_LOCK_KEY])
    category = Category.objects.select_for_update().get(pk=category.pk)
    parent = data.get("parent")
    if parent is not None and parent.pk in category_subtree_ids(category=category.pk):
        raise CategoryCycle
    for field, value in data.items():
        setattr(category, field, value)
    fields = [*data, "updated_at"]
    _save_with_slug(
        category,
        explicit=True,
        exists=lambda value: (
            Category.objects.filter(slug=value).exclude(pk=category.pk).exists()
        ),
        save=lambda: category.save(update_fields=fields),
    )
    _category_changed()
    return category


@transaction.atomic
def category_delete(*, category: Category) -> None:
    """Delete an empty category: products (even inactive) or children refuse it."""
    # The row lock conflicts with the key-share lock a concurrent product
    # insert takes on its category, so the emptiness check cannot go stale.
    category = Category.objects.select_for_update().get(pk=category.pk)
    if category.products.exists() or category.children.exists():
        raise CategoryNotEmpty
    category.delete()
    _category_changed()


def search_index_rebuild(*, concurrently: bool = True) -> dict[str, float]:
    """Rebuild the full-text GIN index and refresh the planner's statistics.

    ``search_vector`` is a generated column: PostgreSQL recomputes it on every
    insert and update, so nothing here recomputes vectors. A rebuild only
    compacts a bloated index. ``CONCURRENTLY`` keeps writes flowing but
    cannot run inside a transaction; there the plain (locking) form is used.
    Returns the seconds each step took.
    """
    concurrently = concurrently and not connection.in_atomic_block
    timings: dict[str, float] = {}
    with connection.cursor() as cursor:
        started = time.monotonic()
        option = "CONCURRENTLY " if concurrently else ""
        cursor.execute(f"REINDEX INDEX {option}{SEARCH_INDEX}")
        timings["reindex"] = time.monotonic() - started
        started = time.monotonic()
        cursor.execute(f"ANALYZE {Product._meta.db_table}")
        timings["analyze"] = time.monotonic() - started
    return timings


# --- Stock (orders take and return it) -----------------------------------------


def _stock_crossed_zero(rows: list[tuple[int, int, int, str]]) -> None:
    """Sales do not flush the catalog (product pages live ``CATALOG_TTL``), but
    selling out or coming back in stock must show at once."""
    crossed = [
        (pk, slug) for pk, before, after, slug in rows if (before > 0) != (after > 0)
    ]
    if crossed:
        catalog_invalidate(
            namespaces=["products", "popular"],
            tags=[f"product:{value}" for pair in crossed for value in pair],
        )


def _low_stock_queue(*, product_id: int, before: int, after: int) -> None:
    """Queue the seller's alert, in the caller's transaction, when stock falls
    below LOW_STOCK_THRESHOLD. (Climbing back to it clears the product's alert
    flag in the stock UPDATE itself, so the next fall alerts again.)

    The dedupe key folds a burst of falls into the one live job; the job
    itself decides under the row lock whether an alert is still due.
    """
    if before >= settings.LOW_STOCK_THRESHOLD > after:
        jobs.enqueue(
            LOW_STOCK_JOB,
            {"product_id": product_id, "stock": after},
            dedupe_key=f"low_stock:{product_id}",
        )


_STOCK_UPDATE = """
    UPDATE catalog_product
       SET stock = stock + %(delta)s,
           low_stock_alerted_at = CASE
               WHEN stock < %(threshold)s AND stock + %(delta)s >= %(threshold)s
               THEN NULL ELSE low_stock_alerted_at END
     WHERE id = %(id)s AND stock + %(delta)s >= 0 {active}
 RETURNING stock - %(delta)s, stock, slug, name, price, currency
"""


@dataclass(frozen=True)
class StockTaken:
    """A product as its stock take left it: what an order line needs of it,
    read by the UPDATE that took the units (no second query)."""

    stock: int
    name: str
    price: Decimal
    currency: str


def _stock_apply(quantities: dict[int, int], sign: int) -> dict[int, StockTaken]:
    """One conditional UPDATE per product, in id order (two orders over the
    same products never deadlock): the row lock, the check and the write in
    a single statement. Several products share a savepoint, so a shortage on
    the last undoes the first; one product needs none."""
    ids = sorted(quantities)
    sql = _STOCK_UPDATE.format(active="AND is_active" if sign < 0 else "")
    rows = []
    taken: dict[int, StockTaken] = {}
    savepoint = transaction.atomic() if len(ids) > 1 else nullcontext()
    with savepoint, connection.cursor() as cursor:
        for pk in ids:
            delta = sign * quantities[pk]
            cursor.execute(
                sql,
                {
                    "delta": delta,
                    "id": pk,
                    "threshold": settings.LOW_STOCK_THRESHOLD,
                },
            )
            row = cursor.fetchone()
            if row is None:  # short, inactive or gone: say which
                available = (
                    Product.objects.filter(pk=pk, is_active=True)
                    .values_list("stock", flat=True)
                    .first()
                )
                if available is None:
                    raise InsufficientStock(product_id=pk)
                raise InsufficientStock(product_id=pk, available=available)
            before, after, slug, name, price, currency = row
            rows.append((pk, before, after, slug))
            taken[pk] = StockTaken(after, name, price, currency)
            _low_stock_queue(product_id=pk, before=before, after=after)
    _stock_crossed_zero(rows)
    return taken


def stock_take_lines(*, quantities: dict[int, int]) -> dict[int, StockTaken]:
    """Take ``quantities`` (product id → units) from active products' stock,
    all or nothing, in the caller's transaction; ``InsufficientStock`` names
    the first product short (or missing, or inactive). Returns each product's
    new stock, name, price and currency as of the take: its row stays locked
    until commit, so they are what the order is sold at."""
    if any(quantity <= 0 for quantity in quantities.values()):
        raise ValueError("quantities must be positive")
    return _stock_apply(quantities, -1)


def stock_take(*, quantities: dict[int, int]) -> dict[int, int]:
    """``stock_take_lines`` for callers that need only the new stock."""
    return {pk: t.stock for pk, t in stock_take_lines(quantities=quantities).items()}


def stock_return(*, quantities: dict[int, int]) -> dict[int, int]:
    """Put units back (a cancelled or expired order), inactive products too."""
    if any(quantity <= 0 for quantity in quantities.values()):
        raise ValueError("quantities must be positive")
    return {pk: t.stock for pk, t in _stock_apply(quantities, +1).items()}


@transaction.atomic
def product_low_stock_alert(*, product_id: int) -> dict[str, Any]:
    """Alert the seller that the product is low on stock (the
    ``notifications.low_stock`` job); at most once per fall below the threshold.

    Decided under the product's row lock against its current stock, so a
    second run (or a second job) finds the flag set and a product restocked
    before the job ran is left alone. Returns what happened, for the job row.
    """
    product = (
        Product.objects.select_for_update(of=("self",))
        .select_related("seller")
        .filter(pk=product_id)
        .first()
    )
    if product is None:
        return {"product_id": product_id, "alerted": False, "reason": "gone"}
    threshold = settings.LOW_STOCK_THRESHOLD
    outcome = {"product_id": product_id, "stock": product.stock, "alerted": False}
    if product.low_stock_alerted_at is not None:
        return {**outcome, "reason": "already_alerted"}
    if product.stock >= threshold:
        return {**outcome, "reason": "recovered"}
    if not product.is_active:
        return {**outcome, "reason": "inactive"}
    notify(
        user=product.seller,
        kind="low_stock",
        category="order_updates",
        title=f"Low stock: {product.name}",
        body=f"Only {product.stock} left of {product.name} (alert below {threshold}).",
        data={"product_id": product.pk, "slug": product.slug, "stock": product.stock},
        email_template="low_stock",
        email_context={
            "product_name": product.name,
            "slug": product.slug,
            "stock": product.stock,
            "threshold": threshold,
        },
    )
    product.low_stock_alerted_at = timezone.now()
    product.save(update_fields=["low_stock_alerted_at"])
    return {**outcome, "alerted": True}
