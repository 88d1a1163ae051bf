"""Orders: placing (idempotent), processing with stock reservation in Celery tasks,
cancelling, the confirmation email and live status events. May import `apps.catalog`,
`apps.users` and `apps.core`."""
