"""Order tasks: thin, take ids, call a service; idempotent, so a redelivery is harmless."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from apps.core.tasks import hand_back
from apps.orders import selectors, services

logger = logging.getLogger(__name__)

# Failures worth another try: a lock that timed out, a dropped connection, a failover.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
MAX_RETRIES = 3
GAVE_UP = "Processing failed; please place the order again."


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True, reject_on_worker_lost=True)
def process_order(self, order_id: int) -> str | None:
    """Reserves stock and confirms or fails the order; retried with backoff when transient."""
    try:
        status = services.order_process(order_id=order_id)
    except TRANSIENT_ERRORS as error:
        if self.request.retries >= self.max_retries:
            logger.error("Order %s failed after %s retries: %s", order_id, self.max_retries, error)
            services.order_fail_pending(order_id=order_id, reason=GAVE_UP)
            return "failed"
        countdown = settings.ORDER_RETRY_BASE_DELAY * 2**self.request.retries
        raise self.retry(exc=error, countdown=countdown) from error
    return status


@shared_task(acks_late=True)
def requeue_stale_orders() -> int:
    """Hands PENDING orders whose task was lost back to the workers (beat, and worker start-up)."""
    return hand_back(
        process_order, selectors.orders_stale_pending(), hold_for=settings.ORDER_STALE_AFTER
    )
