"""Side effects of orders, scheduled once the transaction has committed.

A new order is processed in the background; a status change is published to the order's
live subscribers.
"""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.orders import events
from apps.orders.models import Order


@receiver(post_save, sender=Order, dispatch_uid="orders.enqueue_processing")
def enqueue_processing(sender, instance: Order, created: bool, **kwargs) -> None:
    if created:
        from apps.orders.tasks import process_order

        # robust: a broker that is down delays processing (the sweep enqueues it), never the
        # placement, which has committed.
        transaction.on_commit(lambda: process_order.delay(instance.pk), robust=True)


@receiver(post_save, sender=Order, dispatch_uid="orders.publish_status_change")
def publish_status_change(
    sender, instance: Order, created: bool, update_fields=None, **kwargs
) -> None:
    if not created and update_fields is not None and "status" in update_fields:
        # robust: a broken event bus must not fail a change that has already committed.
        transaction.on_commit(
            lambda: events.order_updated_publish(order_id=instance.pk), robust=True
        )
