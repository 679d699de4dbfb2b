# community-bot for deployments: mount a config at /config/config.toml, data at /data.
# Beyond loopback the web chat needs token mode ([web] auth = "token").
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY prompts ./prompts
RUN pip install --no-cache-dir '.[postgres,matrix]'
VOLUME ["/data", "/config"]
EXPOSE 8080
CMD ["community-bot", "run", "--config", "/config/config.toml", "--data-dir", "/data", "--host", "0.0.0.0"]
