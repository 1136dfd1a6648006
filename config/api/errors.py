"""Base class for domain errors; the API layer turns them into HTTP answers."""


class DomainError(Exception):
    """A business rule said no. Subclasses set ``status_code`` and ``code``."""

    status_code: int = 400
    code: str = "error"
    default_detail: str = "The request could not be completed."

    def __init__(self, detail: str | None = None, **extra: object) -> None:
        self.detail = detail or self.default_detail
        # Extra fields go into the error body (e.g. ``product_id``).
        self.extra = extra
        super().__init__(self.detail)
