FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/venv PATH="/opt/venv/bin:$PATH"
# Memory a burst of WebSockets took goes back to the system when they close: Python objects
# in glibc's malloc, whose free pages the web process trims (schema/websocket.py), where
# Python's own arenas stay while one object lives in them; large tables in mappings of
# their own; two malloc arenas, not one per thread that ever ran (each keeps some pages).
ENV PYTHONMALLOC=malloc MALLOC_MMAP_THRESHOLD_=65536 MALLOC_ARENA_MAX=2
WORKDIR /app

RUN pip install --no-cache-dir uv==0.13.8
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project

COPY . .
RUN DJANGO_SETTINGS_MODULE=backend.settings.production SECRET_KEY=collectstatic-only ALLOWED_HOSTS=build REDIS_URL=redis://build \
    python manage.py collectstatic --no-input

# Runs as a user without privileges: the app only reads its files.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
USER app

EXPOSE 8000
# The whole API in one process (the ASGI app); docker-compose.yml runs HTTP as `gunicorn
# backend.wsgi:application` and WebSockets as this, behind nginx.
CMD ["gunicorn", "backend.asgi:application"]
