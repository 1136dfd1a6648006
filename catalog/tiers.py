"""Popularity tiers inside the search vector, for rare words in big catalogs.

A search ranks the ``SEARCH_CANDIDATES`` most popular matches of its words
(``catalog.selectors._search_candidates``). For a word in a fraction of a
percent of the products, the GIN index alone hands over every match, and each
match is a heap row to read just to learn its popularity: at 1,000,000
products a rare noun's 5,400 rows, most of the query's time. So the vector
also says how popular the product is: a product of tier ``t`` carries the
lexemes ``~g0`` … ``~gt``, and "at least tier ``k``" is the single lexeme
``~gk``, which the GIN index intersects with the word before any row is read.

A tier is half an octave of ``popularity + 1`` (tier 6 starts at 7, tier 7 at
about 10.3, tier 8 at 15). The tier function only ever grows with popularity,
which is what makes the cut exact: every product outside tier ``k`` and up is
less popular than every product inside it. ``~`` never comes out of a user's
words (``search_query`` passes letters and digits only), so no search can
match a tier lexeme by itself. The column is a generated one: PostgreSQL
recomputes it whenever popularity changes, with no code of ours on that path.
"""

from typing import Any

from django.contrib.postgres.search import (
    SearchQuery,
    SearchVectorCombinable,
    SearchVectorField,
)
from django.db import connection
from django.db.models import Func, Value

TIERS = 64  # tier 63 starts past 2**31 popularity; anything above shares it


def tier_sql(operand: str) -> str:
    """SQL of the tier of ``operand``, a float8: the model's column and the
    selector's cut both use this text, so they round alike."""
    return (
        f"LEAST({TIERS - 1}, floor(2 * ln(GREATEST({operand}, 0) + 1)"
        " / ln(2::float8))::integer)"
    )


def lexeme(tier: int) -> str:
    return f"~g{tier}"


class PopularityTiers(SearchVectorCombinable, Func):
    """The tier lexemes of a popularity column, as a tsvector to append to
    the text's (``||``): a slice of one constant array, so it stays an
    immutable expression PostgreSQL accepts in a generated column."""

    output_field = SearchVectorField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        operand, params = compiler.compile(self.source_expressions[0])
        every = ", ".join(f"'{lexeme(tier)}'" for tier in range(TIERS))
        sql = f"array_to_tsvector((ARRAY[{every}])[1:{tier_sql(operand)} + 1])"
        return sql, params


class TierQuery(SearchQuery):
    """``popularity tier >= tier`` as a tsquery (the exact lexeme, neither
    parsed nor stemmed), to AND with a user's query."""

    def __init__(self, tier: int) -> None:
        super().__init__(Value(lexeme(tier)))
        self.tier = tier

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return "%s::tsquery", (f"'{lexeme(self.tier)}'",)


def tier_of(popularity: float) -> int:
    """The tier PostgreSQL gives ``popularity`` (same SQL, same rounding)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + tier_sql("%s::float8"), [popularity])
        return int(cursor.fetchone()[0])
