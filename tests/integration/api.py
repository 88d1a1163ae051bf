"""A client of a live server that sends the contract's operations by name."""

import time

import httpx

from schema.core.operations import operation


class Api:
    """Sends the contract's operations to a server; remembers how long each took."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        self.client, self.url = client, url
        self.durations: dict[str, list[float]] = {}

    def send(self, name: str, variables: dict | None = None, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        started = time.monotonic()
        response = self.client.post(
            self.url, json={"query": operation(name), "variables": variables or {}}, headers=headers
        )
        self.durations.setdefault(name, []).append(time.monotonic() - started)
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, name: str, variables: dict | None = None, token: str | None = None) -> dict:
        result = self.send(name, variables, token)
        assert "errors" not in result, result
        return result["data"]

    def code(self, name: str, variables: dict | None = None, token: str | None = None) -> str:
        [error] = self.send(name, variables, token)["errors"]
        return error["extensions"]["code"]
