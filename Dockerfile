# coopbot in a container: a slim Python, the bot installed with its content and migrations,
# run as an unprivileged user, its database on the /data volume.
#
#   docker build -t coopbot .
#   docker run -d --name coopbot -e COOPBOT_TOKEN=123:abc -v coopbot-data:/data coopbot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    COOPBOT_DATA=/data \
    COOPBOT_CONFIG=/etc/coopbot/coopbot.toml

RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin coopbot \
    && mkdir -p /data /etc/coopbot \
    && chown coopbot:coopbot /data

WORKDIR /opt/coopbot
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY content ./content
RUN pip install . && rm -rf /opt/coopbot/build
COPY deploy/container.toml /etc/coopbot/coopbot.toml

USER coopbot
VOLUME ["/data"]
# The health and metrics server of deploy/container.toml ([ops] listen).
EXPOSE 9090
# /healthz answers while the process lives; Python's own urllib: the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9090/healthz', timeout=4)"]
# SIGTERM stops the bot within 5 s, inside Docker's 10 s grace.
STOPSIGNAL SIGTERM
CMD ["coopbot", "run"]
