"""``demo_seed``: demo accounts, the category tree, products and orders at once."""

import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import TruncDate
from django.utils.text import slugify

from accounts.models import User
from catalog.models import Category, Product
from orders.demo import vocabulary as words
from orders.demo.bulk import BulkEmptyError, bulk_analyze, bulk_empty
from orders.demo.products import Shelf, products_create
from orders.demo.purchases import Shopper, orders_create
from orders.models import ORDER_NUMBER_SEQUENCE, Order, OrderItem
from orders.services.analytics import sales_aggregate

DEMO_PASSWORD = "bazaar-demo-123"  # noqa: S105 - published, development-only
DEMO_ADMIN_EMAIL = "admin@bazaar.local"
DEMO_SELLER_EMAIL = "seller@bazaar.local"
DEMO_EMAIL_DOMAIN = "demo.bazaar.local"
# Every timestamp is an offset from here, so reruns give identical rows.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

# Serialises concurrent seeders (two `make run`s at once): the second waits,
# then finds the data present instead of duplicating it.
_LOCK_KEY = 0x62617A61_61720D01
_DAY = 86_400


class DemoDataError(Exception):
    """The demo data cannot be loaded as asked."""


class DemoDataPresentError(DemoDataError):
    """The database already holds catalog data or demo accounts."""


@dataclass(frozen=True)
class DemoSeedResult:
    """What one ``demo_seed`` call loaded, and how long it took."""

    shoppers: int
    sellers: int
    categories: int
    products: int
    orders: int
    order_items: int
    elapsed_seconds: float


def demo_is_empty() -> bool:
    """True while the catalog has no products (``make run`` seeds only then)."""
    return not Product.objects.exists()


def demo_seed(
    *, products: int, users: int, orders: int, seed: int = 42, reset: bool = False
) -> DemoSeedResult:
    """Load ``users`` shoppers, about one seller per ten shoppers, the demo admin
    and seller, the category tree, ``products`` products and ``orders`` orders.

    One transaction. With ``reset``, every order, product and category and the
    demo accounts are deleted first; without it, existing data raises
    ``DemoDataPresentError``. The same seed and sizes give the same rows.
    """
    if min(products, users, orders) < 0:
        raise DemoDataError("Sizes cannot be negative.")
    if orders and not (products and users):
        raise DemoDataError("Orders need at least one product and one shopper.")
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        if reset:
            _demo_delete()
        else:
            _ensure_empty()
        password = make_password(DEMO_PASSWORD)  # hashed once: Argon2 is slow
        seller_ids = _sellers_create(rng, count=max(1, users // 10), password=password)
        shoppers = _shoppers_create(rng, count=users, password=password)
        shelves = _categories_create()
        product_rows = products_create(
            rng, count=products, shelves=shelves, seller_ids=seller_ids, since=EPOCH
        )
        order_count, item_count = orders_create(
            rng, count=orders, shoppers=shoppers, products=product_rows
        )
        # Dashboards and the leaderboard read aggregates only.
        sales_aggregate(dates=_paid_days())
    bulk_analyze(User, Category, Product, Order, OrderItem)
    return DemoSeedResult(
        shoppers=len(shoppers),
        sellers=len(seller_ids),
        categories=len(words.CATEGORY_TREE) + len(shelves),
        products=len(product_rows),
        orders=order_count,
        order_items=item_count,
        elapsed_seconds=time.perf_counter() - started,
    )


def _paid_days() -> list[date]:
    """The distinct payment days (``TIME_ZONE``), computed by the database."""
    return list(
        Order.objects.filter(paid_at__isnull=False)
        .values_list(TruncDate("paid_at"), flat=True)
        .distinct()
    )


def _demo_accounts() -> Q:
    return Q(email__endswith=f"@{DEMO_EMAIL_DOMAIN}") | Q(
        email__in=[DEMO_ADMIN_EMAIL, DEMO_SELLER_EMAIL]
    )


def _ensure_empty() -> None:
    checks = (
        ("products", Product.objects.all()),
        ("categories", Category.objects.all()),
        ("demo accounts", User.objects.filter(_demo_accounts())),
    )
    present = [label for label, queryset in checks if queryset.exists()]
    if present:
        raise DemoDataPresentError(f"The database already has {', '.join(present)}.")


def _demo_delete() -> None:
    # All orders go, whoever placed them: their lines point at the products.
    try:
        bulk_empty(OrderItem, Order, Product, Category)
    except BulkEmptyError as exc:
        raise DemoDataError(str(exc)) from exc
    with connection.cursor() as cursor:
        # Numbers start again at 1, so after a reset they are deterministic too.
        cursor.execute(f"ALTER SEQUENCE {ORDER_NUMBER_SEQUENCE} RESTART")
    # Few rows; the ORM applies on_delete to whatever else points at a user.
    User.objects.filter(_demo_accounts()).delete()


def _demo_user(rng: random.Random, email: str, **fields: object) -> User:
    return User(
        email=email,
        first_name=rng.choice(words.FIRST_NAMES),
        last_name=rng.choice(words.LAST_NAMES),
        is_verified=True,
        date_joined=EPOCH - timedelta(seconds=rng.randrange(365 * _DAY)),
        **fields,
    )


def _sellers_create(rng: random.Random, *, count: int, password: str) -> list[int]:
    """The demo admin, the demo seller and ``count`` more sellers; seller ids."""
    fixed = {"password": password, "date_joined": EPOCH - timedelta(days=400)}
    admin = User(
        email=DEMO_ADMIN_EMAIL,
        first_name="Ada",
        last_name="Admin",
        is_staff=True,
        is_superuser=True,
        is_verified=True,
        **fixed,
    )
    sellers = [
        User(
            email=DEMO_SELLER_EMAIL,
            first_name="Sam",
            last_name="Seller",
            is_seller=True,
            is_verified=True,
            **fixed,
        ),
        *(
            _demo_user(
                rng, f"seller{n}@{DEMO_EMAIL_DOMAIN}", is_seller=True, password=password
            )
            for n in range(1, count + 1)
        ),
    ]
    User.objects.bulk_create([admin, *sellers])
    return [seller.pk for seller in sellers]


def _shoppers_create(rng: random.Random, *, count: int, password: str) -> list[Shopper]:
    users, addresses = [], []
    for n in range(1, count + 1):
        user = _demo_user(rng, f"shopper{n}@{DEMO_EMAIL_DOMAIN}", password=password)
        city, postal_code, country = rng.choice(words.CITIES)
        users.append(user)
        addresses.append(
            {
                "name": user.get_full_name(),
                "line1": f"{rng.randint(1, 299)} {rng.choice(words.STREETS)}",
                "city": city,
                "postal_code": postal_code.format(rng.randrange(1, 100)),
                "country": country,
            }
        )
    User.objects.bulk_create(users, batch_size=1000)
    return [
        Shopper(user.pk, words.COUNTRY_CURRENCY[address["country"]], address)
        for user, address in zip(users, addresses, strict=True)
    ]


def _categories_create() -> list[Shelf]:
    """The fixed two-level tree; returns the leaves, where products go."""
    departments = [
        Category(name=department.name, slug=slugify(department.name), position=pos)
        for pos, department in enumerate(words.CATEGORY_TREE)
    ]
    Category.objects.bulk_create(departments)
    leaves = [
        (
            Category(
                name=leaf.name,
                slug=f"{parent.slug}-{slugify(leaf.name)}",
                parent=parent,
                position=pos,
            ),
            department,
            leaf,
        )
        for parent, department in zip(departments, words.CATEGORY_TREE, strict=True)
        for pos, leaf in enumerate(department.leaves)
    ]
    Category.objects.bulk_create([category for category, _, _ in leaves])
    # auto_now_add stamped the insert time; pin both timestamps to the epoch.
    # (The tree is all there is: the table was empty or just emptied.)
    Category.objects.update(created_at=EPOCH, updated_at=EPOCH)
    return [Shelf(category.pk, dept, leaf) for category, dept, leaf in leaves]
