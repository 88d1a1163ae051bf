"""Django's PostgreSQL backend with a pool that replaces dead connections at once (`base.py`)."""
