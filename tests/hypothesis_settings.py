"""The settings of the hypothesis tests that drive the whole endpoint: repeatable (derandomized,
no example database), no deadline (each example is a few requests, on PostgreSQL)."""

from hypothesis import HealthCheck

SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    "derandomize": True,
    "database": None,
    "print_blob": False,
}
