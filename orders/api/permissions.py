"""Who may use the orders API beyond being signed in."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class IsStaff(BasePermission):
    message = "Only staff can change an order's status."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user.is_authenticated and request.user.is_staff)


class IsSeller(BasePermission):
    message = "Only sellers have seller orders."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user.is_authenticated and request.user.is_seller)
