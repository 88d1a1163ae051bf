from django.conf import settings
from django.contrib import admin
from django.urls import path

from backend.health import healthz
from backend.metrics import metrics_view
from schema.schema import schema
from schema.views import ApiGraphQLView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("graphql/", ApiGraphQLView.from_settings(schema), name="graphql"),
]

# An unexpected failure outside GraphQL's error handling: JSON on the API's paths.
handler500 = "backend.errors.server_error"

if getattr(settings, "DEBUG_TOOLBAR", False):  # development only
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
