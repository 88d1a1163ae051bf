"""One route per benchmarked operation: POST `/bare/<operation name>`."""

from django.urls import path

from bench.bare import views

urlpatterns = [
    path(f"bare/{name}", view, name=f"bare-{name}") for name, view in views.VIEWS.items()
]
