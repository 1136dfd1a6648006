# ruff: noqa: S311 - load-test randomness, not cryptography
"""Locust load test of the Bazaar API: browsing, shopping and selling at once.

Run it through ``make loadtest PROFILE=basic`` (loadtests/run.py): that builds
and seeds its own database ``bazaar_loadtest`` (Redis databases 6/7/8), starts
gunicorn + Celery workers + relay on port 8765, runs locust headless pinned to
CPU 1 and writes ``var/loadtest/<profile>-<timestamp>/`` (report.html,
stats_*.csv, the server logs). Never point it at the dev database.

User classes (relative weights from the environment):

* ``BrowsingUser`` (``BROWSE_WEIGHT``, 7), anonymous: product list, filtered
  list (category, price range, in_stock), full-text search with words of the
  demo vocabulary (orders/demo/vocabulary.py), product detail by id or slug,
  category tree, popular products. Products are drawn from a **Zipf
  distribution** over the product ids ranked by popularity
  (``?ordering=-popularity``, the first ``LOADTEST_CATALOG_SIZE`` = 500 fetched
  once at start): P(rank k) ∝ 1 / k^s with s = ``ZIPF_S`` = 1.1, so the top 10
  products take about 45 % of detail views, as in real shops.
* ``ShopperUser`` (``SHOPPER_WEIGHT``, 2): logs in once as a demo shopper
  ``shopper<n>@demo.bazaar.local`` (n random in 1..``LOADTEST_SHOPPERS``),
  refreshes its token every ``REFRESH_SECONDS`` (60) keeping the newest
  (rotating) refresh, reads its order history, places orders of 1-2 in-stock
  products (quantity 1, one currency) with a fresh uuid4 ``Idempotency-Key``.
* ``SellerUser`` (``SELLER_WEIGHT``, 1): logs in as ``seller@bazaar.local`` or
  ``seller<n>@demo.bazaar.local``, reads ``/api/seller/dashboard``, PATCHes
  the price of one of its own products by one cent, alternately up and down.

Every user is a ``FastHttpUser`` (geventhttpclient): the client that
bench/generators.py shows keeps up with wrk on one core, so the knee found is
the server's, not locust's. Requests are named by route template
(``/api/products/[id]``). Any 4xx/5xx is a failure except ``409
insufficient_stock`` on an order: a success, counted under its own name ``POST
/api/orders [409 insufficient_stock]`` (stats: Type POST, Name ``/api/orders
[409 insufficient_stock]``).

Profiles (``PROFILE``, shapes in loadtests/shapes.py), sized for 2 cores:

* ``basic``: 20 users for 2 min.
* ``spike``: 5 users, a jump to 60 for the middle half, back to 5 (2 min).
* ``stress``: 20 users plus 20 every 15 s up to 1,200; stops at the **knee**:
  the second consecutive ``KNEE_WINDOW`` (5 s) window whose error rate exceeds
  ``KNEE_ERROR_RATE`` (1 %) or whose p95 (locust's last 10 s) exceeds
  ``KNEE_P95_MS`` (1000), printing the user count and RPS there (also written
  to ``knee.txt`` in the report directory).
* ``endurance``: 15 users for 10 min.

``LOADTEST_SECONDS`` rescales a profile to that duration (stress: a cap).
"""

import importlib.util
import itertools
import os
import random
import sys
import time
import uuid
from bisect import bisect_left
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import gevent
import requests
from locust import FastHttpUser, between, events, task
from locust.env import Environment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # locust only adds loadtests/ itself

from loadtests.shapes import selected_shape  # noqa: E402

PROFILE = os.environ.get("PROFILE", "basic")
PASSWORD = os.environ.get("LOADTEST_PASSWORD", "bazaar-demo-123")
SHOPPERS = int(os.environ.get("LOADTEST_SHOPPERS", "50"))
SELLERS = int(os.environ.get("LOADTEST_SELLERS", "5"))
ZIPF_S = float(os.environ.get("ZIPF_S", "1.1"))
CATALOG_SIZE = int(os.environ.get("LOADTEST_CATALOG_SIZE", "500"))
REFRESH_SECONDS = float(os.environ.get("REFRESH_SECONDS", "60"))
KNEE_ERROR_RATE = float(os.environ.get("KNEE_ERROR_RATE", "0.01"))
KNEE_P95_MS = float(os.environ.get("KNEE_P95_MS", "1000"))
KNEE_WINDOW = float(os.environ.get("KNEE_WINDOW", "5"))
KNEE_WINDOWS = int(os.environ.get("KNEE_WINDOWS", "2"))
REPORT_DIR = os.environ.get("LOADTEST_REPORT_DIR", "")

# The locust shape this run uses (locust runs the first concrete one it finds).
Profile = selected_shape(PROFILE)


def _vocabulary() -> Any:
    """orders/demo/vocabulary.py by path: its package imports Django models."""
    path = ROOT / "orders" / "demo" / "vocabulary.py"
    spec = importlib.util.spec_from_file_location("bazaar_demo_vocabulary", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_words = _vocabulary()
SEARCH_WORDS: list[str] = sorted(
    {
        word
        for department in _words.CATEGORY_TREE
        for word in (
            *department.brands,
            *department.materials,
            *(noun for leaf in department.leaves for noun in leaf.nouns),
            *(feature for leaf in department.leaves for feature in leaf.features),
        )
    }
)
ADDRESSES = [
    (city, postal.format(random.Random(city).randrange(1, 100)), country)
    for city, postal, country in _words.CITIES
]


class Catalog:
    """Product ids ranked by popularity, fetched once when the test starts."""

    products: list[dict[str, Any]] = []
    categories: list[str] = []
    cum_weights: list[float] = []

    @classmethod
    def load(cls, host: str) -> None:
        session = requests.Session()
        url: str | None = f"{host}/api/products/?ordering=-popularity&page_size=100"
        products: list[dict[str, Any]] = []
        while url and len(products) < CATALOG_SIZE:
            page = session.get(url, timeout=30)
            page.raise_for_status()
            body = page.json()
            products.extend(body["results"])
            url = urljoin(url, body["next"]) if body.get("next") else None
        if not products:
            raise RuntimeError("no products: seed the load-test database first")
        tree = session.get(f"{host}/api/categories/", timeout=30).json()
        categories = []
        stack = list(tree)
        while stack:
            node = stack.pop()
            categories.append(
                node["slug"] if random.random() < 0.5 else str(node["id"])
            )
            stack.extend(node.get("children") or [])
        cls.products = products[:CATALOG_SIZE]
        cls.categories = categories
        cls.cum_weights = list(
            itertools.accumulate(1 / k**ZIPF_S for k in range(1, len(cls.products) + 1))
        )

    @classmethod
    def zipf(cls) -> dict[str, Any]:
        """A product, rank k drawn with probability ∝ 1/k^s."""
        point = random.random() * cls.cum_weights[-1]
        return cls.products[
            min(bisect_left(cls.cum_weights, point), len(cls.products) - 1)
        ]


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    try:
        Catalog.load(environment.host.rstrip("/"))
    except Exception as exc:  # no catalog, no test: stop at once
        print(f"cannot load the catalog from {environment.host}: {exc!r}", flush=True)
        environment.process_exit_code = 2
        if environment.runner is not None:
            environment.runner.quit()
        return
    print(
        f"catalog: {len(Catalog.products)} products ranked by popularity, "
        f"Zipf s={ZIPF_S}; {len(Catalog.categories)} categories; profile {PROFILE}"
    )
    if PROFILE == "stress" and environment.runner is not None:
        gevent.spawn(_knee_watch, environment)


def _knee_watch(environment: Environment) -> None:
    """Stop a stress run at the first window past the error or p95 limit."""
    runner = environment.runner
    total = environment.stats.total
    seen_requests, seen_failures = total.num_requests, total.num_failures
    bad = 0  # consecutive windows past a limit (one alone may be a login burst)
    while True:
        gevent.sleep(KNEE_WINDOW)
        requests_now, failures_now = total.num_requests, total.num_failures
        window = requests_now - seen_requests
        error_rate = (failures_now - seen_failures) / window if window else 0.0
        seen_requests, seen_failures = requests_now, failures_now
        p95 = total.get_current_response_time_percentile(0.95) or 0
        over = window and (error_rate > KNEE_ERROR_RATE or p95 > KNEE_P95_MS)
        bad = bad + 1 if over else 0
        if bad >= KNEE_WINDOWS:
            line = (
                f"KNEE at {runner.user_count} users, {total.current_rps:.1f} RPS: "
                f"error rate {error_rate:.2%} (limit {KNEE_ERROR_RATE:.0%}), "
                f"p95 {p95:.0f} ms (limit {KNEE_P95_MS:.0f} ms), "
                f"after {time.time() - total.start_time:.0f} s"
            )
            print(line, flush=True)
            if REPORT_DIR:
                Path(REPORT_DIR, "knee.txt").write_text(line + "\n")
            runner.quit()
            return


class BrowsingUser(FastHttpUser):
    """Anonymous visitor: lists, filters, searches, product pages."""

    default_headers = {"Accept": "application/json"}
    weight = int(os.environ.get("BROWSE_WEIGHT", "7"))
    wait_time = between(1, 3)

    @task(3)
    def product_list(self) -> None:
        ordering = random.choice(["", "-popularity", "price", "-price", "-created_at"])
        params = {"ordering": ordering} if ordering else {}
        self.client.get("/api/products/", params=params, name="/api/products")

    @task(3)
    def filtered_list(self) -> None:
        low = random.choice([0, 10, 25, 50, 100])
        params: dict[str, Any] = {
            "category": random.choice(Catalog.categories),
            "min_price": low,
            "max_price": low + random.choice([25, 50, 200]),
        }
        if random.random() < 0.5:
            params["in_stock"] = "true"
        self.client.get("/api/products/", params=params, name="/api/products?filters")

    @task(2)
    def search(self) -> None:
        words = random.sample(SEARCH_WORDS, random.choice([1, 1, 2]))
        self.client.get(
            "/api/products/",
            params={"search": " ".join(words)},
            name="/api/products?search",
        )

    @task(8)
    def product_detail(self) -> None:
        product = Catalog.zipf()
        if random.random() < 0.8:
            self.client.get(
                f"/api/products/{product['id']}/", name="/api/products/[id]"
            )
        else:
            self.client.get(
                f"/api/products/{product['slug']}/", name="/api/products/[slug]"
            )

    @task(1)
    def category_tree(self) -> None:
        self.client.get("/api/categories/", name="/api/categories")

    @task(1)
    def popular(self) -> None:
        self.client.get("/api/catalog/popular/", name="/api/catalog/popular")


class _SignedInUser(FastHttpUser):
    """Logs in once, keeps the newest refresh token, refreshes periodically."""

    abstract = True
    default_headers = {"Accept": "application/json"}
    email = ""
    access = refresh = ""
    refreshed_at = 0.0

    def account(self) -> str:
        raise NotImplementedError

    def on_start(self) -> None:
        self.email = self.account()
        self.login()

    def login(self) -> None:
        with self.client.post(
            "/api/auth/login",
            json={"email": self.email, "password": PASSWORD},
            name="/api/auth/login",
            catch_response=True,
        ) as resp:
            if resp.status_code != 200:
                resp.failure(
                    f"login {self.email}: {resp.status_code} {(resp.text or '')[:200]}"
                )
                return
            self._tokens(resp.json())

    def _tokens(self, body: dict[str, Any]) -> None:
        self.access, self.refresh = body["access"], body["refresh"]
        self.refreshed_at = time.monotonic()
        self.client.auth_header = f"Bearer {self.access}"

    def ensure_fresh(self) -> bool:
        """Refresh when due (rotation: the answer's refresh replaces ours)."""
        if not self.access:
            self.login()
            return bool(self.access)
        if time.monotonic() - self.refreshed_at < REFRESH_SECONDS:
            return True
        with self.client.post(
            "/api/auth/refresh",
            json={"refresh": self.refresh},
            name="/api/auth/refresh",
            catch_response=True,
        ) as resp:
            if resp.status_code == 200:
                self._tokens(resp.json())
                return True
            resp.failure(f"refresh: {resp.status_code} {(resp.text or '')[:200]}")
        self.access = ""
        self.login()
        return bool(self.access)


class ShopperUser(_SignedInUser):
    """Signed-in shopper: order history and new orders."""

    weight = int(os.environ.get("SHOPPER_WEIGHT", "2"))
    wait_time = between(2, 5)

    def account(self) -> str:
        return f"shopper{random.randint(1, SHOPPERS)}@demo.bazaar.local"

    def on_start(self) -> None:
        city, postal_code, country = random.choice(ADDRESSES)
        self.address = {
            "name": "Lola Loadtest",
            "line1": f"{random.randint(1, 299)} Locust Lane",
            "city": city,
            "postal_code": postal_code,
            "country": country,
        }
        super().on_start()

    @task(3)
    def order_history(self) -> None:
        if self.ensure_fresh():
            self.client.get("/api/orders/", name="/api/orders")

    @task(1)
    def browse_product(self) -> None:
        product = Catalog.zipf()
        self.client.get(f"/api/products/{product['id']}/", name="/api/products/[id]")

    @task(2)
    def place_order(self) -> None:
        if not self.ensure_fresh():
            return
        first = self._in_stock()
        items = [first]
        if random.random() < 0.5:
            second = self._in_stock(currency=first["currency"], other_than=first["id"])
            if second:
                items.append(second)
        body = {
            "items": [{"product_id": p["id"], "quantity": 1} for p in items],
            "shipping_address": self.address,
        }
        with self.client.post(
            "/api/orders/",
            json=body,
            headers={"Idempotency-Key": str(uuid.uuid4())},
            name="/api/orders",
            catch_response=True,
        ) as resp:
            if resp.status_code == 201:
                resp.success()
            elif resp.status_code == 409 and _code(resp) == "insufficient_stock":
                # Expected under load: a success, counted under its own name.
                resp.request_meta["name"] = "/api/orders [409 insufficient_stock]"
                resp.success()
            else:
                resp.failure(f"{resp.status_code} {(resp.text or '')[:200]}")

    @staticmethod
    def _in_stock(currency: str | None = None, other_than: int | None = None) -> Any:
        for _ in range(20):
            product = Catalog.zipf()
            if (
                product.get("in_stock")
                and product["id"] != other_than
                and (currency is None or product["currency"] == currency)
            ):
                return product
        return None if other_than else Catalog.zipf()


class SellerUser(_SignedInUser):
    """Signed-in seller: dashboard and one-cent price edits of own products."""

    weight = int(os.environ.get("SELLER_WEIGHT", "1"))
    wait_time = between(3, 8)
    own: list[dict[str, Any]]
    step = Decimal("0.01")

    def account(self) -> str:
        n = random.randint(0, SELLERS)
        return "seller@bazaar.local" if n == 0 else f"seller{n}@demo.bazaar.local"

    def on_start(self) -> None:
        super().on_start()
        self.own = []
        if not self.access:
            return
        me = self.client.get("/api/auth/me", name="/api/auth/me").json()
        page = self.client.get(
            "/api/products/",
            params={"seller": me["id"], "page_size": 50},
            name="/api/products?seller",
        )
        if page.status_code == 200:
            self.own = page.json()["results"]

    @task(3)
    def dashboard(self) -> None:
        if self.ensure_fresh():
            self.client.get("/api/seller/dashboard/", name="/api/seller/dashboard")

    @task(1)
    def edit_price(self) -> None:
        if not self.own or not self.ensure_fresh():
            return
        product = random.choice(self.own)
        price = Decimal(product["price"])
        step, self.step = self.step, -self.step  # alternate: prices stay put
        if price + step < Decimal("0.01"):
            step = abs(step)  # never to zero: price must stay > 0
        with self.client.patch(
            f"/api/products/{product['id']}/",
            json={"price": str(price + step)},
            name="/api/products/[id]",
            catch_response=True,
        ) as resp:
            if resp.status_code == 200:
                product["price"] = resp.json()["price"]
                resp.success()
            else:
                resp.failure(f"{resp.status_code} {(resp.text or '')[:200]}")


def _code(resp: Any) -> str:
    try:
        return resp.json().get("code", "")
    except ValueError:
        return ""
