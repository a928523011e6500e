# The wirewatch image: the `wirewatch` command, Celery worker and beat included.
# docker-compose.yml runs it as the worker and scheduler services; any command works:
#   docker run --rm -e WIREWATCH_REDIS_URL=redis://host:6379/0 wirewatch wirewatch stories
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# pyproject.toml names README.md as the package readme: the build needs it
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY tasks ./tasks
RUN pip install . \
    && rm -rf /src \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin wirewatch

# nothing here needs root, and Celery warns when a worker runs as root
USER wirewatch
WORKDIR /home/wirewatch
CMD ["wirewatch", "worker", "--concurrency", "2"]
