"""The product's routes plus the benchmark's baseline (bench/settings.py points here)."""

from django.urls import path

from backend.urls import urlpatterns as product_urlpatterns
from bench.views import admin_users_with_orders, catalog_first_one

BASELINE_PATH = "/bench/baseline/admin-users-with-orders"
CATALOG_BASELINE_PATH = "/bench/baseline/catalog-first-1"

urlpatterns = [
    *product_urlpatterns,
    path(BASELINE_PATH.lstrip("/"), admin_users_with_orders, name="bench-baseline"),
    path(CATALOG_BASELINE_PATH.lstrip("/"), catalog_first_one, name="bench-baseline-catalog"),
]
