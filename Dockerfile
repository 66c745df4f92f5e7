# The broker gateway: serves the configuration mounted at /etc/gateway/gateway.yaml.
#
#   docker build -t broker-gateway .
#   docker run -p 8080:8080 -v $PWD/gateway.yaml:/etc/gateway/gateway.yaml:ro broker-gateway
#
# The store should be PostgreSQL in production (store.url: {$env: GATEWAY_STORE_URL}); a
# SQLite store needs a writable absolute path (store.url: sqlite:////var/lib/gateway/gateway.db)
# on a volume, e.g. -v gateway-data:/var/lib/gateway.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GATEWAY_CONFIG=/etc/gateway/gateway.yaml \
    GATEWAY_BIND=0.0.0.0:8080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY connectors ./connectors
COPY config ./config
RUN pip install ".[postgres,mysql]" \
 && useradd --system --uid 10001 --home-dir /var/lib/gateway --create-home gateway

USER gateway
WORKDIR /var/lib/gateway
EXPOSE 8080
CMD ["gunicorn", "--config", "/app/config/gunicorn.conf.py"]
