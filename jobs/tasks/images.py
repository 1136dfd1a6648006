"""Image jobs: a product's uploaded image made into its WebP variants."""

from datetime import datetime
from typing import Any

from catalog.exceptions import ImageError
from catalog.services import product_image_process
from jobs.enums import Priority
from jobs.exceptions import PermanentJobError, payload_parsing
from jobs.models import JobRecord
from jobs.registry import job_type


@job_type("images.process", priority=Priority.MEDIUM, atomic=False)
def process(job: JobRecord) -> dict[str, Any]:
    """Payload: ``{"product_id", "path", "uploaded_at"}`` (catalog.services).

    Not atomic: decoding and encoding must not hold a transaction open; the
    product update is a short transaction of its own. A corrupt, hostile or
    vanished upload fails for good instead of being retried.
    """
    with payload_parsing():
        product_id = int(job.payload["product_id"])
        path = str(job.payload["path"])
        uploaded_at = datetime.fromisoformat(job.payload["uploaded_at"])
    try:
        return product_image_process(
            product_id=product_id, path=path, key=str(job.pk), uploaded_at=uploaded_at
        )
    except ImageError as exc:
        raise PermanentJobError(exc.detail) from exc
