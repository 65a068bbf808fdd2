# The reference commerce API image (FastAPI + uvicorn, `python -m commerce_api`).
#   docker build -f deploy/commerce-api.Dockerfile -t shop-assistant/commerce-api .
#
# Its own environment, as on a laptop (.venv/api): commerce_api/requirements.lock was resolved
# on Python 3.10 and pins SQLAlchemy 2 / pydantic 2, which Rasa's image cannot hold. psycopg 3
# comes as a binary wheel, so the slim image needs no libpq or compiler.
FROM python:3.10.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    COMMERCE_API_HOST=0.0.0.0 \
    COMMERCE_API_PORT=8000

WORKDIR /app
COPY commerce_api/requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock \
    && useradd --uid 1001 --gid 0 --no-create-home --home-dir /app --shell /usr/sbin/nologin commerce \
    && mkdir /app/.data && chown 1001:0 /app/.data

# Code only; the tests stay out (.dockerignore). The data lives in PostgreSQL (COMMERCE_DATABASE_URL);
# /app/.data is only for the SQLite default when the image runs on its own.
COPY --chown=1001:0 commerce_api ./commerce_api
# the shops `SHOP` may seed (demo, tau-retail)
COPY --chown=1001:0 shops ./shops
USER 1001

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
# At start (before serving and before COMMERCE_SEED_ON_START) the API brings its database to the head
# revision (commerce_api/migrations) under a PostgreSQL advisory lock, so replicas starting together
# migrate once; the one-off step alone is `python -m commerce_api.migrations`.
ENTRYPOINT ["python", "-m", "commerce_api"]
