"""Every Prometheus metric the processes record, defined once (names and units follow
Prometheus' conventions: seconds, `_total` for counters).

Recorded where the thing happens: the request middleware and the GraphQL view (requests,
SQL), the limits (refusals), the order services (status transitions), the WebSocket view and
the subscription feeds, the Celery app's signals (tasks, heartbeat). Served by
`backend/metrics.py`, which also collects at each scrape what no process records: the task
queue's length and the work still owed (`shop_celery_queue_length`, `shop_owed_work_items`,
`shop_owed_work_oldest_age_seconds`).

Under gunicorn and the Celery worker every process writes its values to files in
PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode), and a scrape adds them up:
gauges say how (`multiprocess_mode`). Label sets known in advance start at 0, so that a rate
or an alert has a series before the first event.
"""

from prometheus_client import Counter, Gauge, Histogram

GRAPHQL_REQUEST_DURATION = Histogram(
    "shop_graphql_request_duration_seconds",
    "GraphQL requests over HTTP and their duration, by operation name (the apps' operations; "
    "`other` for any other name, `anonymous` for none), type (query, mutation, unknown when "
    "refused before one was read) and result code (OK, or the first error's code).",
    ["operation", "type", "code"],
)
GRAPHQL_SQL_STATEMENTS = Counter(
    "shop_graphql_sql_statements_total",
    "SQL statements run by GraphQL requests over HTTP, by operation (divide by the requests "
    "for statements per request).",
    ["operation"],
)
REFUSALS = Counter(
    "shop_refusals_total",
    "Requests refused by a limit: a GraphQL document's depth, aliases, tokens or nodes (before "
    "anything ran), or rate (logins after too many failures).",
    ["limit"],
)
REFUSAL_LIMITS = ("depth", "aliases", "tokens", "nodes", "rate")

WEBSOCKET_CONNECTIONS_OPEN = Gauge(
    "shop_websocket_connections_open",
    "WebSocket connections open on /graphql/.",
    multiprocess_mode="livesum",
)
SUBSCRIPTIONS_OPEN = Gauge(
    "shop_graphql_subscriptions_open",
    "Subscriptions open, by the topic their feed watches.",
    ["topic"],
    multiprocess_mode="livesum",
)
SUBSCRIPTION_NOTICES = Counter(
    "shop_subscription_notices_total",
    "Change notices between processes (apps/core/events.py), by outcome: published, "
    "publish_failed (Redis unreachable), received, listener_lost (a feed's Redis subscription "
    "broke), read_failed (a batch of watched objects could not be read).",
    ["outcome"],
)
NOTICE_OUTCOMES = ("published", "publish_failed", "received", "listener_lost", "read_failed")

CACHE_RETIREMENTS = Counter(
    "shop_cache_retirements_total",
    "Retirements of what web processes keep (apps/core/invalidation.py: Bearer sessions), by "
    "outcome: retired (sent), applied (in this process), unconfirmed (a process did not confirm "
    "in time), publish_failed (Redis unreachable), lease_lost (a process stopped trusting its "
    "cache: its subscription broke).",
    ["outcome"],
)
RETIREMENT_OUTCOMES = ("retired", "applied", "unconfirmed", "publish_failed", "lease_lost")

ORDER_STATUS_TRANSITIONS = Counter(
    "shop_order_status_transitions_total",
    "Orders moved from one status to another, counted once committed; placements come from `none`.",
    ["from_status", "to_status"],
)
ORDER_TRANSITIONS = (
    ("none", "pending"),
    ("pending", "confirmed"),
    ("pending", "failed"),
    ("pending", "cancelled"),
    ("confirmed", "cancelled"),
)

CELERY_TASK_DURATION = Histogram(
    "shop_celery_task_duration_seconds",
    "Celery task runs and their duration, by task, whatever their outcome.",
    ["task"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
CELERY_TASK_RETRIES = Counter(
    "shop_celery_task_retries_total",
    "Celery task runs that asked to be retried, by task.",
    ["task"],
)
CELERY_TASK_FAILURES = Counter(
    "shop_celery_task_failures_total",
    "Celery task runs that raised (retries exhausted, or not retried), by task.",
    ["task"],
)
CELERY_WORKER_HEARTBEAT = Gauge(
    "shop_celery_worker_last_heartbeat_timestamp_seconds",
    "When this Celery worker's consumer last sent its heartbeat (every 2 s while it takes "
    "tasks): a worker is live while this is recent.",
    multiprocess_mode="max",
)

for _limit in REFUSAL_LIMITS:
    REFUSALS.labels(limit=_limit)
for _outcome in NOTICE_OUTCOMES:
    SUBSCRIPTION_NOTICES.labels(outcome=_outcome)
for _outcome in RETIREMENT_OUTCOMES:
    CACHE_RETIREMENTS.labels(outcome=_outcome)
for _from, _to in ORDER_TRANSITIONS:
    ORDER_STATUS_TRANSITIONS.labels(from_status=_from, to_status=_to)
