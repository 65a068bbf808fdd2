# The assistant image: the Rasa server with this project's trained model, channels and
# production stores. The action server and the commerce API are images of their own
# (deploy/actions.Dockerfile, deploy/commerce-api.Dockerfile); docker-compose.yml runs them all.
#   docker build -t shop-assistant/rasa .
#
# rasa/rasa:3.6.21 (read against RasaHQ/rasa's Dockerfile + docker/Dockerfile.base): Ubuntu 22.04,
# Python 3.10 in the venv /opt/venv (on PATH), HOME=/app, WORKDIR /app (group 0, g=u), user 1001
# (group root), ENTRYPOINT ["rasa"] (replaced below). rasa-sdk, redis, psycopg2, slack_sdk, fbmessenger,
# aiohttp, ujson and jsonschema, which shop_channels, shop_stores and shop_server import, are Rasa
# 3.6.21 dependencies and so already in that venv.
FROM rasa/rasa:3.6.21

WORKDIR /app
ENV PYTHONPATH=/app \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2

# Rasa 3.6 reports crashes to Sentry even with telemetry off: delete the write keys it ships
# (the venv belongs to root, hence the one root step).
COPY --chown=1001:0 scripts/remove_rasa_telemetry_keys.py ./scripts/
USER 0
RUN python scripts/remove_rasa_telemetry_keys.py
USER 1001

COPY --chown=1001:0 config.yml credentials.yml endpoints.yml ./
COPY --chown=1001:0 domain ./domain
COPY --chown=1001:0 data ./data
COPY --chown=1001:0 shop_channels ./shop_channels
# the server's entry point and the guarded replacements of Rasa internals (shop_server/patches.py)
COPY --chown=1001:0 shop_server ./shop_server
# what the channels import from the actions package: masking, the ledger's notices, login tokens;
# for the agent inbox the handoff queue and the commerce API client (the customer's orders)
COPY --chown=1001:0 actions/__init__.py actions/common.py actions/config.py actions/ledger.py actions/notices.py \
    actions/handoffs.py actions/telemetry.py ./actions/
COPY --chown=1001:0 actions/api ./actions/api
COPY --chown=1001:0 actions/identity/__init__.py actions/identity/customer_token.py actions/identity/login.py ./actions/identity/
# Redis tracker and lock stores of the production endpoints (deploy/endpoints.production.yml)
COPY --chown=1001:0 shop_stores ./shop_stores
COPY --chown=1001:0 deploy/endpoints.production.yml ./deploy/

RUN rasa train --domain domain --fixed-model-name assistant --out models

EXPOSE 5005
# GET / answers "Hello from Rasa" once the model is loaded (the same python check in every image)
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=4 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/', timeout=4)"]
# Rasa's own CLI, started by shop_server after it has checked and installed the patches (it refuses
# to start on a Rasa they were not written for). Embedded defaults (endpoints.yml: ACTION_SERVER_URL,
# TRACKER_DB_PATH, EVENT_BROKER_DB_PATH). The production layout passes `--endpoints
# deploy/endpoints.production.yml` (docker-compose.yml, the Helm values). Rasa's HTTP API stays off:
# no --enable-api here (docs/security.md).
ENTRYPOINT ["python", "-m", "shop_server"]
CMD ["run", "--model", "models", "--credentials", "credentials.yml", "--endpoints", "endpoints.yml", \
     "--port", "5005", "--interface", "0.0.0.0"]
