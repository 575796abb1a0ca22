# One image for every role: api, worker, agent (the command picks the role).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 FARM_DATA_DIR=/data
RUN apt-get update && apt-get install -y --no-install-recommends usbutils curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts contracts
COPY server server
COPY worker worker
COPY device_agent device_agent
COPY models models
COPY migrations migrations
COPY cli cli
COPY phonefarm phonefarm
RUN pip install --no-cache-dir . flower
VOLUME /data
EXPOSE 8000
CMD ["farm", "api", "--host", "0.0.0.0"]
