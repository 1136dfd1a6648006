"""Categories (a tree) and products, with the indexes the list API needs."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q

from catalog.enums import Currency
from catalog.tiers import PopularityTiers


class Category(models.Model):
    """A node of the category tree; ``parent`` is null for top-level categories."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["position", "name"]
        indexes = [
            # Building the tree walks children of each node.
            models.Index(fields=["parent", "position"], name="category_parent_pos_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="category_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """Something a seller offers. ``stock`` can never go below zero (DB check)."""

    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="products",
        db_index=False,  # covered by product_seller_idx
    )
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(
        max_length=3, choices=Currency.choices, default=Currency.USD
    )
    stock = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    attributes = models.JSONField(default=dict, blank=True)
    image_url = models.URLField(max_length=500, blank=True)
    # One uploaded image set: [{size, url, width, height}] (catalog.images
    # VARIANTS), written only by the image job; image_url then names its card.
    # The database default serves bulk loads (COPY) that leave the column out.
    images = models.JSONField(
        default=list, db_default=models.Value([], models.JSONField()), blank=True
    )
    # Upload time of that set, so an older upload's late job cannot replace it.
    images_uploaded_at = models.DateTimeField(null=True, blank=True)
    # Popularity: view_count is flushed from Redis counters, units_sold from
    # paid orders; popularity is the score the list orders by.
    view_count = models.BigIntegerField(default=0)
    units_sold = models.BigIntegerField(default=0)
    popularity = models.FloatField(default=0)
    # When the seller was last alerted that stock fell below LOW_STOCK_THRESHOLD;
    # cleared when stock climbs back, so each crossing alerts exactly once. The
    # database default lets bulk loads (COPY) leave the column out.
    low_stock_alerted_at = models.DateTimeField(null=True, blank=True, db_default=None)
    # Maintained by PostgreSQL itself: name weighs above description; the
    # popularity tier lexemes let a rare word's most popular matches come out
    # of the GIN index (catalog.tiers).
    search_vector = models.GeneratedField(
        expression=SearchVector("name", weight="A", config="english")
        + SearchVector("description", weight="B", config="english")
        + PopularityTiers("popularity"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(stock__gte=0), name="product_stock_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(price__gt=0), name="product_price_positive"
            ),
        ]
        indexes = [
            # Keyset pagination orders by (field, id) over active products; one
            # index per public ordering keeps page 500 as cheap as page 1.
            models.Index(
                fields=["-created_at", "-id"],
                name="product_created_idx",
                condition=Q(is_active=True),
            ),
            models.Index(
                fields=["price", "id"],
                name="product_price_idx",
                condition=Q(is_active=True),
            ),
            models.Index(
                fields=["name", "id"],
                name="product_name_idx",
                condition=Q(is_active=True),
            ),
            models.Index(
                fields=["-popularity", "-id"],
                name="product_popularity_idx",
                condition=Q(is_active=True),
            ),
            # The category filter (with descendants): one index per public
            # ordering, walked per category of the subtree (selectors.
            # _category_candidates); price is included so the price range is
            # checked on the index tuple. (category, price) serves the tree's
            # counts and the price orderings.
            models.Index(
                fields=["category", "price", "id"],
                name="product_cat_price_idx",
                condition=Q(is_active=True),
            ),
            models.Index(
                fields=["category", "created_at", "id"],
                name="product_cat_created_idx",
                include=["price"],
                condition=Q(is_active=True),
            ),
            models.Index(
                fields=["category", "name", "id"],
                name="product_cat_name_idx",
                include=["price"],
                condition=Q(is_active=True),
            ),
            models.Index(
                fields=["category", "popularity", "id"],
                name="product_cat_popularity_idx",
                include=["price"],
                condition=Q(is_active=True),
            ),
            # The seller filter.
            models.Index(fields=["seller", "-created_at"], name="product_seller_idx"),
            # Full-text search.
            GinIndex(fields=["search_vector"], name="product_search_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def in_stock(self) -> bool:
        return self.stock > 0
