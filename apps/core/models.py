from __future__ import annotations

from django.db import models


class Email(models.Model):
    """An email a committed change owes, written in the change's own transaction.

    It is sent after commit, or, if that enqueue or its worker was lost, by the periodic
    sweep; `sent_at` is set in the transaction that sends it, so it goes out once.
    """

    key = models.CharField(
        max_length=200, unique=True, help_text="What it is for, e.g. welcome:42: owed once."
    )
    to = models.EmailField(help_text="The recipient.")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it became owed.")
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When it went out.")

    class Meta:
        ordering = ["pk"]
        indexes = [
            # The sweep's question: what is owed and not yet sent, oldest first.
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="core_email_owed_idx",
            )
        ]

    def __str__(self) -> str:
        return self.key
