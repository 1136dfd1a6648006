"""Who may write to the catalog: sellers their own products, staff everything."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class IsSellerOrStaff(BasePermission):
    """Only sellers and staff create products."""

    message = "Only sellers can create products."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user.is_authenticated and (user.is_seller or user.is_staff))


class IsStaff(BasePermission):
    """Staff only (the category tree)."""

    message = "Only staff can change categories."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user.is_authenticated and request.user.is_staff)


class IsProductOwnerOrStaff(BasePermission):
    """The product's own seller, or staff."""

    message = "You can only change your own products."

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        user = request.user
        return bool(user.is_staff or obj.seller_id == user.pk)
