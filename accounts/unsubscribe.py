"""Signed one-click unsubscribe tokens: they name a user and a category.

Signed with ``SECRET_KEY`` (and its fallbacks) under a salt of their own, so
no other signed value of the project is accepted as one. They do not expire:
an unsubscribe link in an old email must keep working (RFC 8058), and all it
can ever do is switch email for that category off.
"""

from django.core import signing

from accounts.enums import NotificationCategory

SALT = "accounts.unsubscribe"


def unsubscribe_token(*, user_id: int, category: str) -> str:
    return signing.dumps({"u": user_id, "c": category}, salt=SALT, compress=True)


def unsubscribe_token_read(token: str) -> tuple[int, str] | None:
    """``(user_id, category)`` of a genuine token, else None."""
    try:
        value = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict):
        return None
    user_id, category = value.get("u"), value.get("c")
    if not isinstance(user_id, int) or category not in NotificationCategory.values:
        return None
    return user_id, category
