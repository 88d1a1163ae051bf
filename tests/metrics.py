"""Prometheus scrapes as the tests read them: each sample's value by name and labels."""

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests(samples: Samples, operation: str, type: str, code: str) -> float:
    return value(
        samples,
        "shop_graphql_request_duration_seconds_count",
        operation=operation,
        type=type,
        code=code,
    )
