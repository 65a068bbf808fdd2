"""The load benchmark (`make bench`, `make bench-soak`, `make bench-probe`): scripted customer conversations
driven by Locust against the production layout.

One job per module:

* scenarios: `conversations` (the scripts, the expected replies, the mix, the REST request), `seed`
  (the commerce data each scenario needs)
* load generation: `load` (plans, seeding, warm-up, running Locust), `locustfile` (inside Locust)
* measurement: `sampler` (CPU and RSS per service), `stats` (latency from every turn), `machine`
  (the machine, the CPU calibration, the commit), `analysis` (a run's figures, the soak's judgement)
* report writing: `report` (results files, summary.md/json, the probe's summary), `plot` (charts)
* the runner: `run` (`python -m bench.run all|run|steps|soak|probe|summary|train-default`) with
  `options` (the BENCH_* knobs), `configs` (the models compared), `layouts` (up and down), `common`
* on its own: `tracker_stores` (Rasa's Redis tracker store against shop_stores', in one process)

`conversations`, `stats`, `machine`, `analysis`, `options`, `configs`, `layouts` and `common` use the
standard library (and requests) only, so tests/bench runs them in .venv/rasa; `seed` runs in
.venv/api (the commerce API's models); `locustfile`, `sampler`, `plot` and the runner in .venv/bench.
"""
