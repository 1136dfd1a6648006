"""The search vector also carries popularity tier lexemes (catalog.tiers).

PostgreSQL 15 cannot change a generated column's expression in place, nor
Django alter one, so the column and its GIN index are dropped and added again:
one table rewrite, which computes every row's new vector.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models

import catalog.tiers


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_product_category_ordering_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="product", name="product_search_idx"),
        migrations.RemoveField(model_name="product", name="search_vector"),
        migrations.AddField(
            model_name="product",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.contrib.postgres.search.SearchVector(
                    "name", config="english", weight="A"
                )
                + django.contrib.postgres.search.SearchVector(
                    "description", config="english", weight="B"
                )
                + catalog.tiers.PopularityTiers("popularity"),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_vector"], name="product_search_idx"
            ),
        ),
    ]
