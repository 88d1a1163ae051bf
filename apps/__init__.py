"""The domain: Django apps with models, querysets, services (writes), selectors (reads),
tasks and signals. Nothing here imports `schema` or `backend`; `orders` refers to `catalog`
and `users`, which know nothing of each other, and all may use `apps.core`."""
