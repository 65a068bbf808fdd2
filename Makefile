# The commands every checkout keeps working (see README):
#   make run    install what is missing, train if stale, start everything in the foreground
#   make up / make down    the same stack in the background
#   make test   the whole test suite (what CI runs)
#   make seed   reset the commerce database to the demo data
#   make migrate  the action ledger and the commerce database to their head revisions (run, up do it too)
#   make train  train the model into models/
#   make bench  the load benchmark (not part of make test); make bench-soak  the 20-minute soak
#   make bench-probe  a 5-minute check of the assistant at the benchmark's load
#   make inspect CONVERSATION=<id>   one conversation's turns beside the ledger's actions
#   make report the analytics report from the event broker (.data/reports/)

SHELL := /bin/bash
PY310 := $(shell scripts/find-python310.sh)
RASA_VENV := .venv/rasa
API_VENV := .venv/api
LINT_VENV := .venv/lint
BENCH_VENV := .venv/bench
RASA := $(RASA_VENV)/bin/rasa
PIP_FLAGS := --quiet --disable-pip-version-check
MODEL := models/assistant.tar.gz
TRAINING_INPUTS := config.yml $(shell find domain data -name '*.yml' 2>/dev/null)
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
# Rasa's telemetry and its crash reports to Sentry leave the machine: always off.
export RASA_TELEMETRY_ENABLED := false

.PHONY: eval-nlu eval-nlu-dense fuzz-dialogue review prune migrate run up down up-production down-production soak-faults test test-api test-assistant lint lint-deploy lock-actions lock-lint validate train seed shell bench bench-soak bench-probe lock-bench install clean lock inspect report

install: $(RASA_VENV)/.installed $(API_VENV)/.installed $(LINT_VENV)/.installed webchat/node_modules/.installed

# The web chat's socket.io-client, exactly as pinned in webchat/package-lock.json.
webchat/node_modules/.installed: webchat/package.json webchat/package-lock.json
	cd webchat && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(RASA_VENV)/.installed: requirements/assistant.lock
	@test -n "$(PY310)" || { echo "Python 3.10 is required (see README)"; exit 1; }
	$(PY310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install $(PIP_FLAGS) "pip==24.0"
	$(RASA_VENV)/bin/pip install $(PIP_FLAGS) -r requirements/assistant.lock
	$(RASA_VENV)/bin/python scripts/remove_rasa_telemetry_keys.py
	touch $@

$(API_VENV)/.installed: commerce_api/requirements.lock
	@test -n "$(PY310)" || { echo "Python 3.10 is required (see README)"; exit 1; }
	$(PY310) -m venv $(API_VENV)
	$(API_VENV)/bin/pip install $(PIP_FLAGS) "pip==24.0"
	$(API_VENV)/bin/pip install $(PIP_FLAGS) -r commerce_api/requirements.lock
	touch $@

# Linters of the deployment files: hadolint, the Compose specification's schema, Docker Compose.
$(LINT_VENV)/.installed: requirements/lint.lock
	@test -n "$(PY310)" || { echo "Python 3.10 is required (see README)"; exit 1; }
	$(PY310) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/pip install $(PIP_FLAGS) "pip==24.0"
	$(LINT_VENV)/bin/pip install $(PIP_FLAGS) -r requirements/lint.lock
	touch $@

# Locust, psutil and matplotlib for `make bench` (bench/), apart from Rasa's pins.
$(BENCH_VENV)/.installed: requirements/bench.lock
	@test -n "$(PY310)" || { echo "Python 3.10 is required (see README)"; exit 1; }
	$(PY310) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install $(PIP_FLAGS) "pip==24.0"
	$(BENCH_VENV)/bin/pip install $(PIP_FLAGS) -r requirements/bench.lock
	touch $@

# Retrains only when the config, domain or training data changed since the last model.
$(MODEL): $(TRAINING_INPUTS) | $(RASA_VENV)/.installed
	$(RASA) train --domain domain --fixed-model-name assistant --out models --num-threads 2

train: $(MODEL)

run: install train
	$(RASA_VENV)/bin/python scripts/stack.py run

up: install train
	$(RASA_VENV)/bin/python scripts/stack.py up

down:
	@python3 scripts/stack.py down

# The production layout on this machine: Redis, replicas behind nginx (docs/deployment.md).
up-production: install train
	$(RASA_VENV)/bin/python scripts/production.py up

down-production:
	@python3 scripts/production.py down

# Issue 7's soak: customers return and cancel while replicas, action servers and Redis fail at
# random (tests/faults/test_fault_soak.py; `make test` runs it for 60 s).
soak-faults: install train
	FAULT_SOAK_SECONDS=$${FAULT_SOAK_SECONDS:-1200} $(RASA_VENV)/bin/pytest tests/faults/test_fault_soak.py -q -s

# Both databases (ACTION_LEDGER_URL, COMMERCE_DATABASE_URL: environment, then .env, then the embedded
# defaults) to their head revisions, each under a lock; docs/migrations.md. run/up/up-production do it first.
migrate: $(RASA_VENV)/.installed $(API_VENV)/.installed
	$(RASA_VENV)/bin/python scripts/stack.py migrate

# make seed: the demo shop; make seed SHOP=tau-retail: the τ-bench retail shop (shops/tau-retail/).
SHOP ?= demo
seed: $(API_VENV)/.installed
	$(API_VENV)/bin/python -m commerce_api.seed --shop "$(SHOP)"

shell: $(RASA_VENV)/.installed train
	$(RASA_VENV)/bin/python scripts/stack.py shell

inspect: $(RASA_VENV)/.installed
	@test -n "$(CONVERSATION)" || { echo "usage: make inspect CONVERSATION=<conversation id>"; exit 1; }
	$(RASA_VENV)/bin/python -m tools.inspect_conversation "$(CONVERSATION)"

# The held-out NLU figures (tests/nlu/held_out_customers{,_2}.yml, two sets by two authors who never
# read data/): per-intent accuracy, unrelated requests read as order tasks, entity F1, order flows on a
# real stack. Writes docs/results/nlu-eval.{json,md} and nlu-eval-2.{json,md}; not part of make test.
eval-nlu: install train
	$(RASA_VENV)/bin/python -m tools.eval_nlu --dialogue
	$(RASA_VENV)/bin/python -m tools.eval_nlu --dialogue --set tests/nlu/held_out_customers_2.yml --out docs/results/nlu-eval-2

# The gate's invariants over many more random conversations than make test runs (tests/security).
fuzz-dialogue: install train
	DIALOGUE_FUZZ_EXPLORE=1 DIALOGUE_FUZZ_EXAMPLES=$${DIALOGUE_FUZZ_EXAMPLES:-200} \
		$(RASA_VENV)/bin/pytest tests/security/test_dialogue_invariants.py -q

# Confirmed actions the recovery sweep closed without executing them, for the support team.
review: $(RASA_VENV)/.installed
	$(RASA_VENV)/bin/python -m tools.review_actions

report: $(RASA_VENV)/.installed
	$(RASA_VENV)/bin/python -m tools.analytics_report --out-dir .data/reports

# The load benchmark against the production layout (docs/performance.md); about 25 minutes.
# Every knob is a BENCH_* variable: .venv/bench/bin/python -m bench.run --help
bench: install train $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python -m bench.run all

bench-soak: install train $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python -m bench.run soak

# Under 5 minutes: the assistant only, one short run at the main run's load (bench/results/probe.json).
bench-probe: install train $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python -m bench.run probe

lint: install lint-deploy
	$(RASA_VENV)/bin/ruff check actions bench shop_channels shop_nlu shop_server shop_stores scripts tests tools webchat
	$(API_VENV)/bin/ruff check commerce_api

# Dockerfiles, docker-compose.yml (schema, then Docker Compose's own parser with stand-in secrets).
# tests/deploy checks more: nginx -t on the balancer's configuration, env names against the code.
lint-deploy: $(LINT_VENV)/.installed
	$(LINT_VENV)/bin/hadolint Dockerfile deploy/*.Dockerfile
	$(LINT_VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	ACTION_SERVER_TOKEN=lint-only-0123456789 COMMERCE_API_TOKEN=lint-only POSTGRES_PASSWORD=lint-only \
		REDIS_PASSWORD=lint-only REST_CHANNEL_TOKEN=lint-only SESSION_SIGNING_SECRET=lint-only-0123456789 $(LINT_VENV)/lib/python3.10/site-packages/compose/docker-compose \
		--env-file /dev/null -f docker-compose.yml config --quiet

validate: $(RASA_VENV)/.installed
	$(RASA) data validate --domain domain --fail-on-warnings

test-api: $(API_VENV)/.installed
	$(API_VENV)/bin/pytest commerce_api/tests -q

test-assistant: install train
	$(RASA_VENV)/bin/pytest tests -q

test: lint validate test-api test-assistant

prune: $(RASA_VENV)/.installed
	$(RASA_VENV)/bin/python -m scripts.prune_trackers

lock:
	rm -rf /tmp/assistant-lock-venv && $(PY310) -m venv /tmp/assistant-lock-venv
	/tmp/assistant-lock-venv/bin/pip install $(PIP_FLAGS) "pip==24.0" && /tmp/assistant-lock-venv/bin/pip install $(PIP_FLAGS) -r requirements/assistant.in
	(echo "# Generated from requirements/assistant.in with 'pip freeze' in a fresh Python 3.10 venv."; echo "# Regenerate: make lock"; \
		/tmp/assistant-lock-venv/bin/pip freeze --all | grep -v -E "^(pip|setuptools|wheel)==") > requirements/assistant.lock

# requirements/actions.lock: the action server image's part of requirements/assistant.lock
lock-actions:
	rm -rf /tmp/actions-lock-venv && $(PY310) -m venv /tmp/actions-lock-venv
	/tmp/actions-lock-venv/bin/pip install $(PIP_FLAGS) "pip==24.0" && /tmp/actions-lock-venv/bin/pip install $(PIP_FLAGS) -r requirements/actions.in -c requirements/assistant.lock
	(echo "# The action server's image (deploy/actions.Dockerfile): requirements/actions.in resolved in a fresh"; \
		echo "# Python 3.10 venv with requirements/assistant.lock as constraints, so it is a subset of that lock."; \
		echo "# Regenerate: make lock-actions"; \
		/tmp/actions-lock-venv/bin/pip freeze --all | grep -v -E "^(pip|setuptools|wheel)==") > requirements/actions.lock

lock-lint:
	rm -rf /tmp/lint-lock-venv && $(PY310) -m venv /tmp/lint-lock-venv
	/tmp/lint-lock-venv/bin/pip install $(PIP_FLAGS) "pip==24.0" && /tmp/lint-lock-venv/bin/pip install $(PIP_FLAGS) -r requirements/lint.in
	(echo "# Generated from requirements/lint.in with 'pip freeze' in a fresh Python 3.10 venv."; echo "# Regenerate: make lock-lint"; \
		/tmp/lint-lock-venv/bin/pip freeze --all | grep -v -E "^(pip|setuptools|wheel)==") > requirements/lint.lock

lock-bench:
	rm -rf /tmp/bench-lock-venv && $(PY310) -m venv /tmp/bench-lock-venv
	/tmp/bench-lock-venv/bin/pip install $(PIP_FLAGS) "pip==24.0" && /tmp/bench-lock-venv/bin/pip install $(PIP_FLAGS) -r requirements/bench.in
	(echo "# Generated from requirements/bench.in with 'pip freeze' in a fresh Python 3.10 venv."; echo "# Regenerate: make lock-bench"; \
		/tmp/bench-lock-venv/bin/pip freeze --all | grep -v -E "^(pip|setuptools|wheel)==") > requirements/bench.lock

clean:
	rm -rf .venv models .data

# Issue 14's experiment: config.yml's model against config.dense.yml's (the same pipeline plus dense
# all-MiniLM-L6-v2 sentence features, shop_nlu/sentence_encoder.py): held-out figures and CPU per parse,
# written to docs/results/nlu-dense-comparison.{md,json}. Its own venv .venv/rasa-dense (requirements/
# assistant.lock, then requirements/dense.lock with it as constraints); models/assistant-dense.tar.gz is
# retrained only when missing or older than its inputs, with a Rasa cache of its own. Not part of make test.
eval-nlu-dense: train
	@test -n "$(PY310)" || { echo "Python 3.10 is required (see README)"; exit 1; }
	@if [ ! -f .venv/rasa-dense/.installed ] || [ requirements/assistant.lock -nt .venv/rasa-dense/.installed ] \
			|| [ requirements/dense.lock -nt .venv/rasa-dense/.installed ]; then set -ex; \
		$(PY310) -m venv .venv/rasa-dense; \
		.venv/rasa-dense/bin/pip install $(PIP_FLAGS) "pip==24.0"; \
		.venv/rasa-dense/bin/pip install $(PIP_FLAGS) -r requirements/assistant.lock; \
		.venv/rasa-dense/bin/pip install $(PIP_FLAGS) -r requirements/dense.lock -c requirements/assistant.lock; \
		.venv/rasa-dense/bin/python scripts/remove_rasa_telemetry_keys.py; \
		touch .venv/rasa-dense/.installed; \
	fi
	@if [ ! -f models/assistant-dense.tar.gz ] || [ -n "$$(find config.dense.yml requirements/dense.lock shop_nlu domain data \
			\( -name '*.yml' -o -name '*.py' -o -name '*.json' -o -name '*.lock' \) -newer models/assistant-dense.tar.gz)" ]; then \
		set -x; RASA_CACHE_DIRECTORY=.rasa/cache-dense .venv/rasa-dense/bin/rasa train --config config.dense.yml --domain domain \
			--fixed-model-name assistant-dense --out models --num-threads 2; \
	fi
	HF_HUB_OFFLINE=1 .venv/rasa-dense/bin/python -m tools.compare_dense
