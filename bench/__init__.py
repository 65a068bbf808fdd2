"""The load benchmark (`make bench`): scripted customer conversations driven by Locust.

Modules that run in every virtual environment use the standard library only
(`conversations`, `stats`); `seed` runs in .venv/api (the commerce API's models),
`locustfile`, `sampler`, `plot` and `run` in .venv/bench.
"""
