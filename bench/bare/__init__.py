"""The benchmark's bare baseline: the contract's answers from plain Django views, served alone.

`gunicorn bench.bare.wsgi:application -c bench/bare/gunicorn.conf.py` (sync workers, WSGI):
no middleware, no authentication, no cache, the same database; rows read with `values()` and
written with orjson, the same bytes as the API's answer (tests/bench/test_bare.py). What the
benchmark divides by is then the whole stack of the API against a peer's plain view.
"""
