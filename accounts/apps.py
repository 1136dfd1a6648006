from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class AccountsConfig(AppConfig):
    """Users, JWT sessions and everything about signing in."""

    name = "accounts"

    def ready(self) -> None:
        from accounts import receivers, schema  # noqa: F401  (registers the scheme)
        from accounts.models import Session, User

        post_save.connect(receivers.user_changed, sender=User, dispatch_uid="acc_u_s")
        post_delete.connect(receivers.user_changed, sender=User, dispatch_uid="acc_u_d")
        post_delete.connect(
            receivers.session_deleted, sender=Session, dispatch_uid="acc_s_d"
        )
