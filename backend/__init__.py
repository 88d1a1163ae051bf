"""Configuration and wiring: settings, URLs, the ASGI/WSGI apps, the Celery app, middleware
and health checks. It may import anything; nothing imports it but entry points and settings."""

from backend.celery import app as celery_app

__all__ = ("celery_app",)
