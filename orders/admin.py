"""Admin for orders: lines are read-only snapshots taken at purchase."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from orders.models import IdempotencyKey, Order, OrderItem

# Money, identity and lifecycle of an existing order change only through the
# order services (stock, refunds, notifications); the admin shows them.
_LEDGER_FIELDS = (
    "user",
    "number",
    "status",
    "subtotal",
    "shipping",
    "total",
    "currency",
    "paid_at",
    "payment_charge_id",
    "refund_id",
    "cancelled_at",
)


class OrderItemInline(admin.TabularInline):
    """An order's lines, as bought: nothing to add, edit or delete."""

    model = OrderItem
    fields = ("product", "name", "unit_price", "quantity", "line_total")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Order | None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderItem]:
        return super().get_queryset(request).select_related("product")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders, newest first; a big table, so no full counts."""

    list_display = (
        "number",
        "user",
        "status",
        "total",
        "currency",
        "paid_at",
        "created_at",
    )
    list_select_related = ("user",)
    list_filter = ("status", "currency", "created_at")
    search_fields = ("number", "user__email")
    date_hierarchy = "created_at"
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at", "updated_at")
    inlines = (OrderItemInline,)
    show_full_result_count = False

    def get_readonly_fields(
        self, request: HttpRequest, obj: Order | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return self.readonly_fields
        return (*_LEDGER_FIELDS, *self.readonly_fields)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """Stored answers of order placement, for support; written only by the API."""

    list_display = ("key", "user", "state", "response_status", "order", "created_at")
    list_select_related = ("user", "order")
    list_filter = ("state", "response_status")
    search_fields = ("key", "user__email")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: IdempotencyKey | None = None
    ) -> bool:
        return False
