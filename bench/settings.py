"""The benchmark's settings: production's, plus the baseline route (bench/urls.py).

Only `python -m bench` uses this module; the product's urlconf never routes the baseline.
"""

from backend.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
