"""The WSGI app: HTTP through Django (middleware, views), as deployed (gunicorn.conf.py).

WebSockets are the ASGI app's (backend/asgi.py), served beside it on the same path.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.development")

django_application = get_wsgi_application()

from backend.middleware import BoundedRequestBodyWSGI  # noqa: E402

# Django reads a chunked body as empty: read here, at most 100 KB + 1 byte (MAX_REQUEST_BODY_SIZE).
application = BoundedRequestBodyWSGI(django_application)
