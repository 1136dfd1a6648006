"""Write a development .env with fresh random secrets (run once by `make run`)."""

import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    path = ROOT / ".env"
    if path.exists():
        return
    flower_password = secrets.token_urlsafe(12)
    path.write_text(
        "# Written by `make run` for local development; .env.example lists all.\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"FLOWER_BASIC_AUTH=admin:{flower_password}\n"
    )
    print(
        f"wrote {path.name} (Flower login admin / {flower_password})", file=sys.stderr
    )


if __name__ == "__main__":
    main()
