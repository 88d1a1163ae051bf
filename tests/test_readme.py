"""The README's API examples, run as written against a live server with the demo data."""

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from strawberry.relay import from_base64

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SECTION = README.split("## The API by example", 1)[1].split("\n## ", 1)[0]
CURLS = [
    " ".join(line.strip().rstrip("\\") for line in block.strip().splitlines())
    for block in re.findall(r"```bash\n(.*?)```", SECTION, flags=re.S)
    for block in re.split(r"\n\s*\n", block)
    if block.strip().startswith("curl")
]
EXPECTED_FIRST = json.loads(re.search(r"```json\n(.*?)```", SECTION, flags=re.S).group(1))

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command"),
]


def without_ids(value):
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def run(curl: str, base_url: str, access_token: str = "") -> dict:
    command = curl.replace("http://127.0.0.1:8000", base_url)
    result = subprocess.run(
        ["bash", "-c", command],
        env={"PATH": "/usr/bin:/bin", "ACCESS_TOKEN": access_token},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(result.stdout)


def test_the_readme_has_the_three_curl_examples():
    assert len(CURLS) == 3


def test_the_curl_examples_answer_as_the_readme_shows(live_server):
    call_command("seed_demo", stdout=io.StringIO())
    catalog, login, me = CURLS

    # Ids are the rows' own (database sequences differ between runs): compared by type.
    answer = run(catalog, live_server.url)
    assert without_ids(answer) == without_ids(EXPECTED_FIRST)
    edges = answer["data"]["products"]["edges"]
    assert {from_base64(edge["node"]["id"])[0] for edge in edges} == {"Product"}

    tokens = run(login, live_server.url)["data"]["obtainToken"]
    assert set(tokens) == {"accessToken", "refreshToken", "accessExpiresAt"}

    answer = run(me, live_server.url, tokens["accessToken"])["data"]["me"]
    assert answer["email"] == "user@example.com"
    assert answer["orderCount"] == 2
    assert [edge["node"]["status"] for edge in answer["orders"]["edges"]] == [
        "CONFIRMED",
        "FAILED",
    ]
