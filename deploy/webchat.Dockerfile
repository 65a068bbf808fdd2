# The web chat image: the demo shop page with the support widget (webchat/serve.py).
#   docker build -f deploy/webchat.Dockerfile -t shop-assistant/webchat .
#
# Why its own small image rather than static files in the nginx image: serve.py is the server the
# browser test (tests/channels) runs against; it writes /config.js (where the widget finds Rasa's
# Socket.IO endpoint, the shop's name) from the environment at request time and answers /healthz
# only once the vendored client exists. nginx in front proxies it on the same origin as Rasa's
# Socket.IO, so the page needs no CORS and only nginx publishes a port.

# Stage 1: socket.io-client exactly as pinned in webchat/package-lock.json.
FROM node:20.15.1-bookworm-slim AS client
WORKDIR /build
COPY webchat/package.json webchat/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# Stage 2: serve.py needs nothing but the standard library.
FROM python:3.10.14-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WEBCHAT_HOST=0.0.0.0 \
    WEBCHAT_PORT=8080
WORKDIR /app/webchat
COPY webchat/serve.py ./
COPY webchat/static ./static
# serve.py reads only the minified client from node_modules
COPY --from=client /build/node_modules/socket.io-client/dist/socket.io.min.js \
     ./node_modules/socket.io-client/dist/socket.io.min.js
USER 1001

EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["python", "serve.py"]
