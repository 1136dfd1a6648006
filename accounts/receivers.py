"""Cache invalidation for writes that bypass the services (admin, shell,
cascades): a changed or deleted user, a deleted session. Invalidation only;
no domain behaviour lives here."""

from typing import Any

from django.db import transaction

from accounts import cache as acc_cache


def user_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    user_id = instance.pk
    transaction.on_commit(lambda: acc_cache.quietly(acc_cache.user_invalidate, user_id))


def session_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    session_id = instance.pk
    transaction.on_commit(
        lambda: acc_cache.quietly(acc_cache.session_state_invalidate, [session_id])
    )
