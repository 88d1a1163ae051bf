"""GraphiQL, the in-browser IDE at /graphql/ for a browser's GET where settings enable it.

Our page: its assets served locally when built (offline), the explorer plugin, the apps'
operations preloaded, and the Headers tab's headers sent to subscriptions too.
"""

import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static

from schema.core import operations

GRAPHIQL_FRONTEND = Path(settings.BASE_DIR) / "frontend" / "graphiql"
CDN = "https://cdn.jsdelivr.net/npm"


@cache
def _pinned_versions() -> dict[str, str]:
    """The exact versions frontend/graphiql/package.json pins (the lock file agrees)."""
    return json.loads((GRAPHIQL_FRONTEND / "package.json").read_text())["dependencies"]


def _cdn_url(file: str) -> str:
    """`@scope/name/path` or `name/path` at the version package.json pins."""
    parts = file.split("/")
    size = 2 if file.startswith("@") else 1
    package, path = "/".join(parts[:size]), "/".join(parts[size:])
    return f"{CDN}/{package}@{_pinned_versions()[package]}/{path}"


def assets() -> dict[str, list[str]]:
    """GraphiQL's scripts and stylesheets (frontend/graphiql/assets.json): our static files when
    scripts/build-graphiql.sh has built them (offline), else the same versions from a CDN."""
    listed = json.loads((GRAPHIQL_FRONTEND / "assets.json").read_text())
    local = all(
        finders.find(f"graphiql/{file}") for file in [*listed["scripts"], *listed["styles"]]
    )
    return {
        kind: [static(f"graphiql/{file}") if local else _cdn_url(file) for file in listed[kind]]
        for kind in ("scripts", "styles")
    }


def page(request: HttpRequest) -> HttpResponse:
    """The GraphiQL page, with the csrftoken cookie GraphiQL sends back as X-CSRFToken for a
    signed-in (session) user."""
    get_token(request)
    context = {"assets": assets(), "default_document": operations.graphiql_document()}
    return render(request, "graphql/graphiql.html", context)
