"""The orders' periodic jobs are declared, registered, and run through beat."""

import pytest

from jobs.enums import Priority
from jobs.registry import get_job_type
from jobs.schedules import schedule_definitions


def test_expiry_and_key_purge_are_scheduled():
    schedules = {s.name: s for s in schedule_definitions()}
    expire = schedules["expire-unpaid-orders"]
    purge = schedules["purge-idempotency-keys"]
    assert (expire.job_type, expire.every, expire.crontab) == (
        "orders.expire_unpaid",
        60,
        None,
    )
    assert (purge.job_type, purge.every, purge.crontab, purge.priority) == (
        "orders.purge_idempotency_keys",
        None,
        "45 3 * * *",
        Priority.BATCH,
    )


def test_job_types_are_registered():
    assert get_job_type("orders.expire_unpaid").priority == Priority.MEDIUM
    assert get_job_type("orders.purge_idempotency_keys").priority == Priority.BATCH


@pytest.mark.django_db
def test_idempotency_key_admin_is_read_only(admin_client):
    changelist = admin_client.get("/admin/orders/idempotencykey/")
    add = admin_client.get("/admin/orders/idempotencykey/add/")
    assert (changelist.status_code, add.status_code) == (200, 403)
