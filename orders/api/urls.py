"""Orders routes (declared with a trailing slash; the middleware makes it optional).

The category leaderboard is public catalog data that only orders can compute
(catalog never imports orders), so it is mounted here at ``catalog/leaderboard``
and served through the catalog's response cache like the other catalog GETs.
"""

from django.urls import path

from catalog.cache import cached
from orders.api.views import (
    CategoryLeaderboardApi,
    OrderCancelApi,
    OrderCollectionApi,
    OrderDetailApi,
    OrderInvoiceApi,
    OrderPayApi,
    OrderStatusApi,
    SellerDashboardApi,
    SellerOrderListApi,
)

urlpatterns = [
    path("orders/", OrderCollectionApi.as_view(), name="order-list"),
    path("orders/<int:order_id>/", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:order_id>/pay/", OrderPayApi.as_view(), name="order-pay"),
    path(
        "orders/<int:order_id>/cancel/", OrderCancelApi.as_view(), name="order-cancel"
    ),
    path(
        "orders/<int:order_id>/status/", OrderStatusApi.as_view(), name="order-status"
    ),
    path(
        "orders/<int:order_id>/invoice/",
        OrderInvoiceApi.as_view(),
        name="order-invoice",
    ),
    path("seller/orders/", SellerOrderListApi.as_view(), name="seller-order-list"),
    path("seller/dashboard/", SellerDashboardApi.as_view(), name="seller-dashboard"),
    path(
        "catalog/leaderboard/",
        cached(CategoryLeaderboardApi.as_view(), namespace="leaderboard"),
        name="catalog-leaderboard",
    ),
]
