# One image for both halves: the edge agent and the cloud service share the contract package.
# Build from the repository root:  docker build -f docker/python.Dockerfile -t gridwatch .
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends mosquitto-clients && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/gridwatch
COPY pyproject.toml README.md ./
COPY contract contract
COPY edge edge
COPY cloud cloud
COPY configs configs
# the ONNX models (and their cards) the detectors load; nothing is downloaded at run time
COPY models/*.onnx models/*.json models/*.md models/
ENV GRIDWATCH_MODELS=/opt/gridwatch/models
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/gridwatch gridwatch \
    && mkdir -p /var/lib/gridwatch && chown gridwatch /var/lib/gridwatch
USER gridwatch
WORKDIR /var/lib/gridwatch
