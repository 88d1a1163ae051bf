"""The WSGI app: HTTP through Django (middleware, views), as deployed (gunicorn.conf.py).

WebSockets are the ASGI app's (backend/asgi.py), served beside it on the same path.
"""

import os

from django.core.wsgi import get_wsgi_application

from backend import telemetry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.development")

# Before the handler reads MIDDLEWARE.
telemetry.setup(telemetry.WEB)

django_application = get_wsgi_application()

from backend.middleware import BoundedRequestBodyWSGI, HeadWithoutBodyWSGI  # noqa: E402

# Django reads a chunked body as empty: read here, at most MAX_REQUEST_BODY_SIZE + 1 bytes;
# and HEAD is answered without a body.
application = HeadWithoutBodyWSGI(BoundedRequestBodyWSGI(django_application))
