"""Direct PostgreSQL connections beside Django's, for tests that need another
session (a concurrent writer, a LISTEN) or another database."""

import psycopg
from django.db import connection


def direct_connection(dbname: str | None = None) -> psycopg.Connection:
    """An autocommitting connection to the test database (a session of its
    own), or to ``dbname``."""
    db = connection.settings_dict
    return psycopg.connect(
        dbname=dbname or db["NAME"],
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        autocommit=True,
    )
