"""Per-seller daily sales, counting each order once; backfilled for every day
that already has per-product rows."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def backfill(apps, schema_editor):
    """The seller rows of each day ``DailySales`` holds, from the paid orders
    (as the aggregation computes them, with the historical models)."""
    from datetime import datetime, time, timedelta
    from decimal import Decimal

    from django.db.models import Count, DecimalField, F, Sum
    from django.utils import timezone

    DailySales = apps.get_model("orders", "DailySales")
    OrderItem = apps.get_model("orders", "OrderItem")
    SellerDailySales = apps.get_model("orders", "SellerDailySales")
    rows = []
    for day in DailySales.objects.values_list("date", flat=True).distinct():
        start = timezone.make_aware(datetime.combine(day, time.min))
        end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
        lines = (
            OrderItem.objects.filter(order__paid_at__gte=start, order__paid_at__lt=end)
            .exclude(order__status="cancelled")
            .values("product__seller_id", "order__currency")
            .annotate(
                n_orders=Count("order_id", distinct=True),
                n_units=Sum("quantity"),
                amount=Sum(
                    F("unit_price") * F("quantity"),
                    output_field=DecimalField(max_digits=14, decimal_places=2),
                ),
            )
        )
        rows += [
            SellerDailySales(
                date=day,
                seller_id=line["product__seller_id"],
                currency=line["order__currency"],
                orders=line["n_orders"],
                units=line["n_units"],
                revenue=line["amount"].quantize(Decimal("0.01")),
            )
            for line in lines
        ]
    SellerDailySales.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0004_daily_sales'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SellerDailySales',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('date', models.DateField()),
                ('currency', models.CharField(max_length=3)),
                ('orders', models.PositiveIntegerField()),
                ('units', models.PositiveIntegerField()),
                ('revenue', models.DecimalField(decimal_places=2, max_digits=14)),
                ('seller', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'indexes': [models.Index(fields=['date'], name='seller_daily_sales_date_idx')],
                'constraints': [models.UniqueConstraint(fields=('seller', 'date', 'currency'), name='seller_daily_sales_uniq')],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
