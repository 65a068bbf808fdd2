# The action server image: the `actions` package behind its shared secret (actions/server.py).
#   docker build -f deploy/actions.Dockerfile -t shop-assistant/actions .
#
# rasa/rasa-sdk:3.6.2 (read against RasaHQ/rasa-sdk's Dockerfile and the image's layers):
# Ubuntu 22.04, Python 3.10 in the venv /opt/venv (first on PATH, so `pip`/`python` are the
# venv's), rasa-sdk 3.6.2 installed, WORKDIR /app, user 1001, ENTRYPOINT ["./entrypoint.sh"]
# (`start` = the stock `python -m rasa_sdk`).
FROM rasa/rasa-sdk:3.6.2

WORKDIR /app
ENV PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    ACTION_SERVER_HOST=0.0.0.0 \
    ACTION_SERVER_PORT=5055 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1

# requirements/actions.lock is the action server's part of requirements/assistant.lock (the
# versions the tests run against), rasa-sdk 3.6.2 included; pip check fails the build if the
# image's venv and the lock disagree.
COPY requirements/actions.lock /tmp/actions.lock
USER 0
RUN pip install --no-cache-dir -r /tmp/actions.lock \
    && pip check \
    && rm /tmp/actions.lock
USER 1001

COPY --chown=1001:0 actions ./actions
# each shop's profile and answers (SHOP picks one); the τ shop's data file is the commerce API's
COPY --chown=1001:0 shops/demo ./shops/demo
COPY --chown=1001:0 shops/tau-retail/profile.yml ./shops/tau-retail/

EXPOSE 5055
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5055/health', timeout=2)"]
# Our server, not the image's entrypoint.sh / stock rasa_sdk server: it refuses every call
# without ACTION_SERVER_TOKEN (>= 16 characters, else it exits), answers malformed calls with 400
# and serves /health and /metrics. One Sanic worker per container: scale with replicas.
# Before serving it brings the ledger to its head revision (actions/migrations, copied with the
# package) under a PostgreSQL advisory lock, so replicas starting together migrate once; the
# one-off step alone is `python -m actions.migrations` (the Helm values' init container).
ENTRYPOINT ["python", "-m", "actions.server"]
