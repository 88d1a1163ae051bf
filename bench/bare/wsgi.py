"""`gunicorn bench.bare.wsgi:application`: the bare baseline (bench/bare/settings.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.bare.settings")

application = get_wsgi_application()
