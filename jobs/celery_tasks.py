"""One Celery task per job type, each a thin entry into the runner.

Named after the job type, so Flower and the broker show ``email.send`` rather
than a generic runner; the message carries only the job id.
"""

from celery import shared_task


def register_celery_task(name: str) -> None:
    """Define the Celery task for job type ``name``."""

    def run(job_id: str) -> None:
        from jobs.runner import run_job

        run_job(job_id)

    run.__name__ = run.__qualname__ = f"run_{name.replace('.', '_')}"
    shared_task(
        name=name, ignore_result=True, acks_late=True, reject_on_worker_lost=True
    )(run)
