"""apps/core/mail.py: an owed email exists if and only if its change committed; it goes out once."""

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.mail.backends import locmem
from django.db import connection, transaction
from django.utils import timezone

from apps.core import mail as owed
from apps.core.models import Email
from apps.core.tasks import requeue_owed_emails

pytestmark = pytest.mark.django_db


class SlowBackend(locmem.EmailBackend):
    """Takes half a second to send, as SMTP may."""

    sends: list[str] = []
    started = threading.Event()

    def send_messages(self, messages):
        self.sends.append("sent")
        self.started.set()
        time.sleep(0.5)
        return super().send_messages(messages)


def owe(key: str = "welcome:1") -> Email:
    return owed.email_owe(key=key, to="ann@example.com", subject="Hello", body="Hi Ann.")


def test_owing_one_email_twice_owes_it_once():
    first, again = owe(), owe()
    assert first.pk == again.pk
    assert Email.objects.count() == 1


def test_an_email_owed_by_a_change_that_rolls_back_is_not_owed():
    with pytest.raises(RuntimeError), transaction.atomic():
        owe()
        raise RuntimeError("the change failed")
    assert not Email.objects.exists()


def test_it_is_handed_to_a_worker_after_commit_and_sent_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        email = owe()
    assert len(callbacks) == 1
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]
    email.refresh_from_db()
    assert email.sent_at is not None
    assert owed.email_send(email_id=email.pk) is False
    assert len(mail.outbox) == 1


def test_a_failed_send_leaves_it_owed(monkeypatch, settings):
    email = owe()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1
    with pytest.raises(OSError):
        owed.email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.sent_at is None


def test_the_sweep_finds_what_is_owed_past_the_threshold_and_sends_it(settings):
    lost = owe("welcome:1")  # its task never went out (on_commit not run here)
    sent = owe("welcome:2")
    Email.objects.filter(pk=sent.pk).update(sent_at=timezone.now())
    settings.OWED_EMAIL_AFTER = 3600
    assert owed.emails_owed() == []
    Email.objects.update(created_at=timezone.now() - timedelta(hours=2))
    assert owed.emails_owed() == [lost.pk]
    # Beat's task: with tasks in-process (tests), the lost email goes out at once.
    assert requeue_owed_emails() == 1
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]
    assert requeue_owed_emails() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_one_email_send_it_once(settings):
    """The first holds the row while its (slow) send runs; the second skips it."""
    # Outside a transaction owing it would send it at once (tasks in-process): made directly.
    (email,) = Email.objects.bulk_create(
        [Email(key="welcome:1", to="a@x.io", subject="S", body="B")]
    )
    settings.EMAIL_BACKEND = f"{__name__}.SlowBackend"
    SlowBackend.sends.clear()
    SlowBackend.started.clear()
    results: list[bool] = []

    def send() -> None:
        try:
            results.append(owed.email_send(email_id=email.pk))
        finally:
            connection.close()

    first = threading.Thread(target=send)
    first.start()
    assert SlowBackend.started.wait(5), results
    second = threading.Thread(target=send)
    second.start()
    first.join()
    second.join()
    assert sorted(results) == [False, True]
    assert SlowBackend.sends == ["sent"]
    email.refresh_from_db()
    assert email.sent_at is not None


@pytest.fixture
def empty_cache():
    cache.clear()
    yield
    cache.clear()  # the holds below would outlive the test (the in-process cache)


def test_a_sweep_hands_owed_work_back_once_per_threshold(settings, monkeypatch, empty_cache):
    """A backlog keeps work owed while its task waits in the queue: the next sweeps within the
    threshold do not enqueue it again."""
    from apps.core import tasks

    enqueued: list[int] = []
    monkeypatch.setattr(tasks.send_email, "delay", enqueued.append)
    first, second = owe("welcome:1"), owe("welcome:2")
    Email.objects.update(created_at=timezone.now() - timedelta(hours=2))
    settings.OWED_EMAIL_AFTER = 3600
    assert requeue_owed_emails() == 2
    assert requeue_owed_emails() == 0
    assert enqueued == [first.pk, second.pk]


def test_every_delivery_of_an_owed_email_carries_its_own_message_id(settings):
    email = owe("order-confirmation:7")
    assert owed.email_send(email_id=email.pk) is True
    (sent,) = mail.outbox
    assert sent.extra_headers["Message-ID"] == f"<order-confirmation.7.{email.pk}@example.com>"
    assert owed.message_id(owe("order-confirmation:8")) != sent.extra_headers["Message-ID"]
