"""deploy/prometheus and deploy/grafana against a real Prometheus (Debian's `prometheus` package:
scripts/install-prometheus.sh, which CI runs): promtool accepts the configuration and the alerts
(and the alerts' own unit tests pass), and a Prometheus scraping a live API (gunicorn, two
workers) and a Celery worker through the deployed scrape configuration answers every query of
the dashboard and of the alerts with series."""

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import urlopen

import httpx
import pytest
import yaml
from strawberry.relay import to_base64

from apps.users import tokens
from schema.core.operations import operation
from tests.factories import PASSWORD, ProductFactory, UserFactory
from tests.integration.test_metrics import free_port_in
from tests.live import Process, wait_for

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "shop.json"
TOKEN = "prometheus-test-token-Zr5"

pytestmark = pytest.mark.skipif(
    not (shutil.which("prometheus") and shutil.which("promtool")),
    reason="needs Debian's prometheus package (prometheus, promtool): "
    "scripts/install-prometheus.sh",
)


def promtool(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["promtool", *arguments], capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_accepts_the_alerts_and_their_unit_tests_pass():
    checked = promtool("check", "rules", str(PROMETHEUS_DIR / "alerts.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", str(PROMETHEUS_DIR / "alerts.test.yml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def alerts() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_every_alert_says_what_to_do_and_the_readme_too():
    readme = (ROOT / "README.md").read_text().split("## Operating it", 1)[1].split("\n## ", 1)[0]
    for rule in alerts():
        assert len(rule["annotations"]["action"]) > 80, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert f"`{rule['alert']}`" in readme, rule["alert"]


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", ())]


def without_thresholds(expression: str) -> str:
    """An alert's expression without its comparisons with constants: what it compares."""
    return re.sub(r"\s*(==|!=|>=|<=|>|<)\s*[0-9.]+(?![\w.])", "", expression)


def scrape_configuration(web_port: int, worker_port: int, token_file: Path) -> dict:
    """deploy/prometheus/prometheus.yml, its jobs pointed at the processes this test started
    and its intervals shortened; its paths, authorization and rules as deployed."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [str(PROMETHEUS_DIR / name) for name in config["rule_files"]]
    targets = {"shop-web": web_port, "shop-worker": worker_port}
    for job in config["scrape_configs"]:
        del job["dns_sd_configs"]
        job["static_configs"] = [{"targets": [f"127.0.0.1:{targets[job['job_name']]}"]}]
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(token_file)
    assert set(targets) == {job["job_name"] for job in config["scrape_configs"]}
    return config


@pytest.mark.django_db(transaction=True)
def test_prometheus_finds_series_for_every_dashboard_and_alert_query(
    start_server, start_worker, tmp_path
):
    user = UserFactory()
    product = ProductFactory(stock=100)
    bearer = tokens.token_obtain(email=user.email, password=PASSWORD, client_address="t")
    worker_port = free_port_in()
    start_worker(WORKER_METRICS_PORT=str(worker_port))
    server = start_server("gunicorn", WEB_CONCURRENCY="2", METRICS_TOKEN=TOKEN)

    token_file = tmp_path / "metrics_token"
    token_file.write_text(TOKEN)
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(
        yaml.safe_dump(scrape_configuration(server.port, worker_port, token_file))
    )
    checked = promtool("check", "config", str(config_file))
    assert checked.returncode == 0, checked.stdout + checked.stderr

    port = free_port_in()
    log = tmp_path / "prometheus.log"
    prometheus = Process(
        subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config_file}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        ),
        log,
    )
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        wait_for(lambda: _targets_up(api) == 2, timeout=30, what="both targets scraped and up")
        # Traffic between scrapes: queries, an error, a refusal, an order processed by the worker.
        headers = {"Authorization": f"Bearer {bearer.access_token}"}
        item = {"productId": to_base64("Product", product.pk), "quantity": 1}
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            send(server.http_url, {"query": operation("Catalog"), "variables": {"first": 2}})
            send(server.http_url, {"query": operation("AdminUsers")})  # UNAUTHENTICATED
            send(server.http_url, {"query": "{ " + " ".join(["__typename"] * 5001) + " }"})
            send(
                server.http_url,
                {"query": operation("PlaceOrder"), "variables": {"items": [item]}},
                headers,
            )
            time.sleep(0.2)

        alert_queries = [without_thresholds(rule["expr"]) for rule in alerts()]
        queries = [q.replace("$__rate_interval", "1m") for q in dashboard_queries()] + alert_queries
        assert len(queries) > 20

        def empty() -> list[str]:
            return [query for query in queries if not _query(api, query)]

        try:
            wait_for(lambda: not empty(), timeout=20, what="every query to have series")
        except AssertionError:
            raise AssertionError(f"no series for {empty()}") from None
    finally:
        prometheus.stop()
    failed = prometheus.output()
    assert "level=error" not in failed, failed


def send(url: str, body: dict, headers: dict | None = None) -> None:
    assert httpx.post(url, json=body, headers=headers or {}, timeout=10).status_code == 200


def _get(url: str) -> dict:
    with urlopen(url, timeout=5) as response:
        return json.load(response)


def _targets_up(api: str) -> int:
    try:
        targets = _get(f"{api}/targets")["data"]["activeTargets"]
    except OSError:
        return 0
    return sum(target["health"] == "up" for target in targets)


def _query(api: str, query: str) -> list:
    answer = _get(f"{api}/query?{urlencode({'query': query})}")
    assert answer["status"] == "success", (query, answer)
    return answer["data"]["result"]
