"""The orders API: one thin class per operation (API.md, Orders)."""

from typing import Any

from django.http import FileResponse, Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    OpenApiTypes,
    extend_schema,
)
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.pagination import CursorPagination, NewestFirstPagination
from config.api.parsers import StrictJSONParser
from config.api.schema import error_response
from config.api.views import PrivateApi
from orders import selectors, services
from orders.api import serializers as s
from orders.api.permissions import IsSeller, IsStaff
from orders.exceptions import IdempotencyKeyInvalid, IdempotencyKeyMissing
from orders.models import Order

IDEMPOTENCY_HEADER = "Idempotency-Key"
TRANSITION = {409: error_response("invalid_transition: not from the order's status")}
MAX_KEY_LENGTH = 255


class OrdersApi(PrivateApi):
    """Base: signed-in callers, JSON bodies, user data never cached."""

    permission_classes = [IsAuthenticated]
    parser_classes = [StrictJSONParser]

    def order_or_404(
        self, request: Request, order_id: int, *, items: bool = False
    ) -> Order:
        """The caller's order (any order for staff); ``items`` reads its lines."""
        order = selectors.order_get_for_user(
            order_id=order_id, user=request.user, items=items
        )
        if order is None:
            raise Http404
        return order

    def respond(self, order: Order) -> Response:
        """The order as the service returned it (its locked, changed copy),
        with its lines read once."""
        return Response(s.OrderOutput(selectors.order_items_attach(order)).data)


def render_order(order: Order) -> dict[str, Any]:
    """The 201 body, as plain JSON (it is stored for replays), from the order
    as placement left it (its lines attached), without reading it back."""
    return dict(s.OrderOutput(order).data)


def _idempotency_key(request: Request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None or not key.strip():
        raise IdempotencyKeyMissing
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise IdempotencyKeyInvalid
    return key


class OrderListApi(OrdersApi):
    pagination_class = NewestFirstPagination

    @extend_schema(responses=s.OrderOutput(many=True))
    def get(self, request: Request) -> Response:
        orders = selectors.order_list_for_user(user=request.user)
        return self.paginated(orders, s.OrderOutput)


class OrderCreateApi(OrdersApi):
    @extend_schema(
        request=s.OrderCreateInput,
        responses={
            201: s.OrderOutput,
            409: error_response(
                "insufficient_stock (with product_id, available), or "
                "idempotency_request_in_progress"
            ),
            422: error_response(
                "idempotency_key_reused: the key came with another body"
            ),
        },
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER, required=True
            )
        ],
    )
    def post(self, request: Request) -> Response:
        key = _idempotency_key(request)
        data = self.input(s.OrderCreateInput, request)
        answer = services.order_place(
            user=request.user,
            key=key,
            request_hash=services.request_fingerprint(request.data),
            lines=[services.Line(**line) for line in data["items"]],
            shipping_address=dict(data["shipping_address"]),
            render=render_order,
        )
        response = Response(answer.body, status=answer.status)
        if answer.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class OrderCollectionApi(OrderListApi, OrderCreateApi):
    """GET and POST /api/orders."""


class OrderDetailApi(OrdersApi):
    @extend_schema(responses=s.OrderOutput)
    def get(self, request: Request, order_id: int) -> Response:
        order = self.order_or_404(request, order_id, items=True)
        return Response(s.OrderOutput(order).data)


class OrderPayApi(OrdersApi):
    @extend_schema(
        request=s.OrderPayInput,
        responses={
            200: s.OrderOutput,
            402: error_response("payment_declined"),
            409: TRANSITION[409],
            502: error_response("payment_gateway_error"),
        },
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = self.order_or_404(request, order_id)
        if order.user_id != request.user.pk:
            raise PermissionDenied("Only the buyer can pay for an order.")
        data = self.input(s.OrderPayInput, request)
        return self.respond(
            services.order_pay(order_id=order.pk, card_token=data["card_token"])
        )


class OrderCancelApi(OrdersApi):
    @extend_schema(request=None, responses={200: s.OrderOutput, **TRANSITION})
    def post(self, request: Request, order_id: int) -> Response:
        order = self.order_or_404(request, order_id)
        return self.respond(
            services.order_cancel(order_id=order.pk, actor=request.user)
        )


class OrderStatusApi(OrdersApi):
    permission_classes = [IsStaff]

    @extend_schema(
        request=s.OrderStatusInput, responses={200: s.OrderOutput, **TRANSITION}
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = self.order_or_404(request, order_id)
        data = self.input(s.OrderStatusInput, request)
        changed = services.order_status_set(
            order_id=order.pk,
            status=data["status"],
            tracking_number=data["tracking_number"],
            actor=request.user,
        )
        return self.respond(changed)


class OrderInvoiceApi(OrdersApi):
    """POST queues the invoice PDF (202 with the job); GET downloads it."""

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[Any, str]:
        # A client asking for the PDF (``Accept: application/pdf``) is not a
        # 406: errors still answer in JSON, the PDF bypasses the renderers.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(request=None, responses={202: s.InvoiceJobOutput})
    def post(self, request: Request, order_id: int) -> Response:
        order = self.order_or_404(request, order_id)
        job_id = services.order_invoice_request(order=order)
        return Response({"job_id": job_id}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="`invoice_not_ready`, or no such order"),
        }
    )
    def get(self, request: Request, order_id: int) -> FileResponse:
        order = self.order_or_404(request, order_id)
        return FileResponse(
            selectors.order_invoice_open(order=order),
            as_attachment=True,
            filename=f"{order.number}.pdf",
            content_type="application/pdf",
        )


class SellerOrderListApi(OrdersApi):
    permission_classes = [IsSeller]
    pagination_class = CursorPagination  # newest line first (id)

    @extend_schema(responses=s.SellerOrderLineOutput(many=True))
    def get(self, request: Request) -> Response:
        lines = selectors.seller_order_lines(seller=request.user)
        return self.paginated(lines, s.SellerOrderLineOutput)


class SellerDashboardApi(OrdersApi):
    """The caller's sales of the last 30 days, from the daily aggregates."""

    permission_classes = [IsSeller]

    @extend_schema(responses=s.SellerDashboardOutput)
    def get(self, request: Request) -> Response:
        data = selectors.seller_dashboard(seller=request.user)
        return Response(s.SellerDashboardOutput(data).data)


class CategoryLeaderboardApi(APIView):
    """Categories by units sold in 30 days: public, so the catalog response
    cache serves it (mounted at ``catalog/leaderboard``)."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="catalog_leaderboard",
        responses=s.LeaderboardRowOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        rows = selectors.category_leaderboard()
        return Response(s.LeaderboardRowOutput(rows, many=True).data)
