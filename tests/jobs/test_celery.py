"""Celery is wired end to end: a real worker consumes from the real broker."""

from jobs.tasks.maintenance import ping


def test_a_real_worker_runs_a_task(celery_worker_app):
    result = ping.delay()
    assert result.get(timeout=20) == "pong"


def test_only_json_is_accepted(settings):
    from config.celery import app

    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
