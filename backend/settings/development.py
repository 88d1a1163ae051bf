"""Local development: DEBUG on, GraphiQL on, SQLite and in-process tasks unless told otherwise."""

import importlib.util

from backend.settings.base import *  # noqa: F403
from backend.settings.base import env

# First: `runserver` serves the ASGI app with daphne, WebSocket subscriptions included
# (deployments serve it with gunicorn and uvicorn workers; daphne is a dev dependency).
INSTALLED_APPS = ["daphne", *INSTALLED_APPS]  # noqa: F405

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="django-insecure-development-only-key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
GRAPHIQL = env.bool("GRAPHIQL", default=True)
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=True)
CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS", default=["http://localhost:3000", "http://127.0.0.1:3000"]
)

# `extensions.sqlQueries` (statements run) in every GraphQL response.
GRAPHQL_SQL_QUERY_COUNT = env.bool("GRAPHQL_SQL_QUERY_COUNT", default=DEBUG)

# django-debug-toolbar (dev dependency group): on GraphiQL's page, for each operation it runs,
# the SQL, cache and timing panels. Off with DEBUG_TOOLBAR=false, or when it is not installed.
DEBUG_TOOLBAR = env.bool("DEBUG_TOOLBAR", default=DEBUG) and bool(
    importlib.util.find_spec("debug_toolbar")
)
if DEBUG_TOOLBAR:
    INSTALLED_APPS = [*INSTALLED_APPS, "debug_toolbar"]
    # Early (after request timing and the body-size limit), as the toolbar asks. The toolbar's
    # own middleware leaves a JSON response's body alone (a GraphQL response keeps only `data`,
    # `errors` and `extensions`): it names the request in a `djdt-request-id` header, from which
    # the page's toolbar loads that request's panels (UPDATE_ON_FETCH).
    MIDDLEWARE = [
        *MIDDLEWARE[:2],  # noqa: F405
        "debug_toolbar.middleware.DebugToolbarMiddleware",
        *MIDDLEWARE[2:],  # noqa: F405
    ]
    INTERNAL_IPS = ["127.0.0.1", "::1"]

    def _show_debug_toolbar(request) -> bool:
        # Same-origin requests only (GraphiQL, the admin): a frontend app on another origin
        # gets the API's responses without the toolbar's work or headers.
        origin = request.headers.get("Origin")
        same_origin = origin in (None, f"{request.scheme}://{request.get_host()}")
        return DEBUG and request.META.get("REMOTE_ADDR") in INTERNAL_IPS and same_origin

    DEBUG_TOOLBAR_CONFIG = {
        "SHOW_TOOLBAR_CALLBACK": _show_debug_toolbar,
        # Each fetch GraphiQL makes (queries, mutations) becomes the toolbar's request.
        "UPDATE_ON_FETCH": True,
        # A handle at the window's edge until opened: GraphiQL's result pane stays visible.
        "SHOW_COLLAPSED": True,
    }
