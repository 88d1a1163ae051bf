import os

from django.core.wsgi import get_wsgi_application

from backend import telemetry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.development")

# Before the handler reads MIDDLEWARE.
telemetry.setup(telemetry.WEB)

application = get_wsgi_application()
