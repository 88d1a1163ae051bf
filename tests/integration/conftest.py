"""Real Celery workers and web servers against Redis and PostgreSQL (tests/live.py starts them)."""

from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.live import missing_services


def pytest_collection_modifyitems(config, items) -> None:
    if reason := missing_services():
        for item in items:
            if "integration" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


def sent_mail(mail_dir: Path, subject: str) -> list[str]:
    """Messages the worker wrote with the file email backend, filtered by subject."""
    messages = []
    for path in sorted(mail_dir.glob("*.log")):
        messages += [m for m in path.read_text().split("-" * 79) if f"Subject: {subject}" in m]
    return messages


class ProductLock:
    """Holds a row lock on a product from a connection of its own, as a busy order would."""

    def __init__(self, product) -> None:
        db = connection.settings_dict
        self.conn = psycopg.connect(
            dbname=db["NAME"], host=db["HOST"], port=db["PORT"], user=db["USER"]
        )
        self.conn.execute(
            "SELECT 1 FROM catalog_product WHERE id = %s FOR NO KEY UPDATE", [product.pk]
        )

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()
