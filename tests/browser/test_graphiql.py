"""GraphiQL at /graphql/ in a real (headless) Chromium, offline: nothing leaves the test server.

Needs /usr/bin/chromium (scripts/install-browser.sh) and GraphiQL's assets built by
scripts/build-graphiql.sh (scripts/test runs it when npm is found).
"""

import json
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from django.db import connections

from apps.users.tokens import token_obtain
from tests.factories import PASSWORD, ProductFactory, UserFactory
from tests.live import DEVELOPMENT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

GRAPHIQL_ASSETS = Path(__file__).resolve().parents[2] / "frontend" / "graphiql" / "dist"

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Chromium at /usr/bin/chromium: run scripts/install-browser.sh",
    ),
    pytest.mark.skipif(
        not GRAPHIQL_ASSETS.is_dir(),
        reason="needs GraphiQL's assets built (npm): scripts/test builds them when npm is found",
    ),
]

# Stands in for the browser's WebSocket (the WSGI live server has none): records what the page
# sends, so the test sees graphql-ws's connection_init.
RECORDING_WEBSOCKET = """
window.__webSockets = [];
class RecordingWebSocket extends EventTarget {
  constructor(url, protocols) {
    super();
    this.url = url;
    this.protocol = [].concat(protocols || [])[0] || "";
    this.readyState = 0;
    this.sent = [];
    window.__webSockets.push(this);
    setTimeout(() => {
      this.readyState = 1;
      const event = new Event("open");
      if (this.onopen) this.onopen(event);
      this.dispatchEvent(event);
    }, 0);
  }
  send(data) { this.sent.push(data); }
  close() { this.readyState = 3; }
}
Object.assign(RecordingWebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
window.WebSocket = RecordingWebSocket;
"""


@contextmanager
def chromium_page(server_url: str):
    """A Chromium page that may only reach the server (any other request fails the test)."""
    from playwright.sync_api import sync_playwright

    server = urlsplit(server_url).netloc
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})

        def only_the_server(route):
            if urlsplit(route.request.url).netloc == server:
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", only_the_server)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()
    assert outside == [], f"GraphiQL reached outside the server (assets not local?): {outside}"


@pytest.fixture
def page(live_server, monkeypatch):
    """A Chromium page on the test's live server (test settings)."""
    # Playwright's sync API runs an event loop in this thread, where the test still uses the ORM.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium_page(live_server.url) as page:
        yield page
        # The connections the test opened while that loop ran belong to its context: closed here,
        # or they outlive the test and keep the test database from being dropped.
        connections.close_all()


def open_graphiql(page, url: str):
    response = page.goto(url)
    assert response.status == 200
    # Rendered by React: the editor, the run button, the explorer plugin's sidebar button.
    page.locator(".graphiql-query-editor .CodeMirror").wait_for()
    page.locator(".graphiql-execute-button").wait_for()
    assert page.get_by_role("button", name="Show GraphiQL Explorer").count() == 1


def editor_value(page, selector: str) -> str:
    return page.locator(selector).first.evaluate("element => element.CodeMirror.getValue()")


def replace_query(page, text: str) -> None:
    # Through the editor's own API: typed keys race its autocomplete on a busy machine.
    page.locator(".graphiql-query-editor .CodeMirror").first.evaluate(
        "(element, text) => { element.CodeMirror.setValue(text); element.CodeMirror.focus(); }",
        text,
    )
    assert editor_value(page, ".graphiql-query-editor .CodeMirror") == text
    # GraphiQL has taken the edit in (its operation name too) once the page's URL shows it.
    page.wait_for_function(
        "text => new URLSearchParams(location.search).get('query') === text", arg=text
    )


def set_headers(page, headers: dict) -> None:
    page.locator(".graphiql-editor-tools button", has_text="Headers").click()
    editor = page.locator(".graphiql-editor-tool .graphiql-editor:visible .CodeMirror")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(json.dumps(headers))
    assert json.loads(editor.evaluate("element => element.CodeMirror.getValue()")) == headers


def test_graphiql_runs_a_query_with_the_bearer_token_from_the_headers_tab(
    live_server, page, tmp_path
):
    user = UserFactory()
    access_token = token_obtain(
        email=user.email, password=PASSWORD, client_address="127.0.0.1"
    ).access_token
    open_graphiql(page, f"{live_server.url}/graphql/")
    # The contract's operations are preloaded.
    preloaded = editor_value(page, ".graphiql-query-editor .CodeMirror")
    assert "query Catalog(" in preloaded and "subscription WatchOrder(" in preloaded

    replace_query(page, "{ me { email } }")
    set_headers(page, {"Authorization": f"Bearer {access_token}"})
    page.locator(".graphiql-execute-button").click()

    result = page.locator(".result-window")
    result.get_by_text(user.email).wait_for()
    assert json.loads(editor_value(page, ".result-window .CodeMirror"))["data"] == {
        "me": {"email": user.email}
    }
    screenshot = tmp_path / "graphiql.png"
    page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 0
    print(f"GraphiQL screenshot: {screenshot}")


def test_graphiql_without_a_token_runs_anonymously(live_server, page):
    open_graphiql(page, f"{live_server.url}/graphql/")
    replace_query(page, "{ me { email } }")
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        "document.querySelector('.result-window .CodeMirror').CodeMirror.getValue() !== ''"
    )
    assert json.loads(editor_value(page, ".result-window .CodeMirror")) == {"data": {"me": None}}


def test_a_subscription_sends_the_headers_tab_as_connection_init_payload(live_server, page):
    page.add_init_script(RECORDING_WEBSOCKET)
    open_graphiql(page, f"{live_server.url}/graphql/")
    replace_query(page, 'subscription { orderUpdated(id: "T3JkZXI6MQ==") { id status } }')
    set_headers(page, {"Authorization": "Bearer some-access-token"})
    page.locator(".graphiql-execute-button").click()

    page.wait_for_function("window.__webSockets.length > 0 && window.__webSockets[0].sent.length")
    url, protocol, sent = page.evaluate(
        "[window.__webSockets[0].url, window.__webSockets[0].protocol, window.__webSockets[0].sent]"
    )
    assert url == live_server.url.replace("http://", "ws://") + "/graphql/"
    assert protocol == "graphql-transport-ws"
    assert json.loads(sent[0]) == {
        "type": "connection_init",
        "payload": {"Authorization": "Bearer some-access-token"},
    }


# Points along each line of the result pane's text (its start, middle and end): the element
# there, and whether it belongs to the result pane.
RESULT_TEXT_COVERAGE = """
() => {
  const pane = document.querySelector(".result-window");
  const points = [];
  for (const line of pane.querySelectorAll(".CodeMirror-line > span")) {
    for (const rect of line.getClientRects()) {
      const y = rect.top + rect.height / 2;
      for (const x of [rect.left + 1, (rect.left + rect.right) / 2, rect.right - 1]) {
        const element = document.elementFromPoint(x, y);
        points.push({
          x: Math.round(x),
          y: Math.round(y),
          text: line.textContent,
          inPane: Boolean(element && pane.contains(element)),
          element: element ? `${element.tagName}#${element.id}.${element.className}` : null,
        });
      }
    }
  }
  return points;
}
"""


@pytest.mark.django_db(transaction=True)
def test_with_the_debug_toolbar_the_result_pane_stays_visible(start_server, tmp_path):
    """A development server (DEBUG, debug toolbar on, as scripts/dev serves it) on a laptop-sized
    window: the toolbar waits as a handle at the edge, GraphiQL's whole result text shows, and the
    toolbar follows the operation GraphiQL ran."""
    for n in (1, 2):
        ProductFactory(
            sku=f"TOOLBAR-{n}", description=f"Product {n}: a description long enough to reach far."
        )
    server = start_server("runserver", **DEVELOPMENT)
    query = "{ products(first: 2) { edges { node { sku description } } } }"
    with chromium_page(server.http_url) as page:
        page.set_viewport_size({"width": 1280, "height": 800})
        # The query comes in the address (?q=; no key press: Escape would fold an open toolbar).
        open_graphiql(page, f"{server.http_url}?{urlencode({'q': query})}")
        assert editor_value(page, ".graphiql-query-editor .CodeMirror") == query
        toolbar = page.locator("#djDebugRoot")  # its shadow root holds the toolbar
        toolbar.locator("#djDebugToolbarHandle").wait_for()
        assert toolbar.locator("#djDebugToolbar").is_hidden()

        def runs_the_query(response) -> bool:
            return json.loads(response.request.post_data or "{}").get("query") == query

        with page.expect_response(runs_the_query) as answered:
            page.locator(".graphiql-execute-button").click()
        response = answered.value
        result = page.locator(".result-window")
        result.get_by_text("TOOLBAR-2").wait_for()

        # The response's body is GraphQL's alone; the toolbar names its request in a header and
        # loads that request's panels (UPDATE_ON_FETCH).
        body = response.json()
        assert set(body) == {"data", "extensions"}
        assert isinstance(body["extensions"]["sqlQueries"], int)
        request_id = response.headers["djdt-request-id"]
        page.wait_for_function(
            """id => document.getElementById("djDebugRoot").shadowRoot
                 .getElementById("djDebug").dataset.requestId === id""",
            arg=request_id,
        )

        assert result.is_visible()
        # The handle has a strip of its own at the window's edge, beside GraphiQL's panes.
        handle = toolbar.locator("#djDebugToolbarHandle").bounding_box()
        pane = result.bounding_box()
        assert handle and pane
        assert handle["x"] >= pane["x"] + pane["width"], (handle, pane)
        points = page.evaluate(RESULT_TEXT_COVERAGE)
        assert len(points) >= 3 * 10, points  # every line of the pretty-printed result
        assert [p for p in points if not p["inPane"]] == []
        screenshot = tmp_path / "graphiql-debug-toolbar.png"
        page.screenshot(path=str(screenshot))
        assert screenshot.stat().st_size > 0
        print(f"GraphiQL with the debug toolbar: {screenshot}")
