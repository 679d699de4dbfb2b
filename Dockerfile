# community-bot for deployments: mount a config at /config/config.toml; data (SQLite, Matrix
# keys, backups) lives in /data. Beyond loopback the web chat needs token mode
# ([web] auth = "token"). compose.yaml runs it with PostgreSQL; see the README's Deployment.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY prompts ./prompts
RUN pip install --no-cache-dir '.[postgres,matrix]' \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin bot \
    && mkdir -p /data /config \
    && chown bot /data
USER bot
VOLUME ["/data"]
EXPOSE 8080
# Healthy once the database answers and every platform connection is up (/readyz).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4)"]
CMD ["community-bot", "run", "--config", "/config/config.toml", "--data-dir", "/data", "--host", "0.0.0.0", "--port", "8080"]
