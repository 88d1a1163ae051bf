"""A new order is processed in the background once its transaction has committed."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.orders.models import Order


@receiver(post_save, sender=Order, dispatch_uid="orders.enqueue_processing")
def enqueue_processing(sender, instance: Order, created: bool, **kwargs) -> None:
    if created:
        from apps.orders.tasks import process_order

        transaction.on_commit(lambda: process_order.delay(instance.pk))
