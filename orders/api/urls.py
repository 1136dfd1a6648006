"""Orders routes (declared with a trailing slash; the middleware makes it optional)."""

from django.urls import path

from orders.api.views import (
    OrderCancelApi,
    OrderCollectionApi,
    OrderDetailApi,
    OrderInvoiceApi,
    OrderPayApi,
    OrderStatusApi,
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
]
