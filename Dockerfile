# The assistant image: the Rasa server with this project's trained model and channels.
# The action server and the commerce API run as their own services (issue: production
# containers). Build: docker build -t shop-assistant .
FROM rasa/rasa:3.6.21

WORKDIR /app
ENV PYTHONPATH=/app \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    RASA_TELEMETRY_ENABLED=false

COPY --chown=1001:0 config.yml credentials.yml endpoints.yml ./
COPY --chown=1001:0 domain ./domain
COPY --chown=1001:0 data ./data
COPY --chown=1001:0 shop_channels ./shop_channels
# shop_channels shares one constant with the action package (the neutralized-command mark)
COPY --chown=1001:0 actions/__init__.py actions/common.py ./actions/

COPY --chown=1001:0 scripts/remove_rasa_telemetry_keys.py ./scripts/
USER root
RUN python scripts/remove_rasa_telemetry_keys.py
USER 1001
RUN rasa train --domain domain --fixed-model-name assistant --out models

USER 1001
EXPOSE 5005
# endpoints.yml reads ACTION_SERVER_URL, TRACKER_DB_PATH and EVENT_BROKER_DB_PATH from the environment.
CMD ["run", "--model", "models", "--credentials", "credentials.yml", "--endpoints", "endpoints.yml", \
     "--port", "5005", "--interface", "0.0.0.0"]
