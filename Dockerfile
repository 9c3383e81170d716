# telejt's production image: the wheel (with its migrations, protocols and compiled
# catalogs) in a virtualenv, run as an unprivileged user. Built in two stages so the
# final image holds no compiler, no source checkout and no pip cache.
#
#   docker build -t telejt .
#   docker run --env-file deploy/env telejt                       # web (gunicorn)
#   docker run --env-file deploy/env telejt telejt scheduler run  # a scheduler
#   docker run --env-file deploy/env telejt telejt db upgrade     # release step

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# dependencies first, pinned with their hashes: this layer is rebuilt only when the lock changes
COPY requirements/prod.lock requirements/prod.lock
RUN python -m venv /opt/telejt \
    && /opt/telejt/bin/pip install --require-hashes -r requirements/prod.lock
COPY pyproject.toml setup.py README.md LICENSE babel.cfg ./
COPY telejt telejt
COPY migrations migrations
COPY protocols protocols
COPY translations translations
RUN /opt/telejt/bin/pip wheel --no-deps -w /dist . \
    && /opt/telejt/bin/pip install --no-deps /dist/telejt-*.whl

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 telejt \
    && useradd --system --uid 10001 --gid telejt --home-dir /srv/telejt --create-home telejt
COPY --from=build /opt/telejt /opt/telejt
ENV PATH=/opt/telejt/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TELEJT_ENV=production \
    TELEJT_INSTANCE_DIR=/srv/telejt/instance
USER 10001:10001
WORKDIR /srv/telejt
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# one gthread worker; its threads: TELEJT_SOCKETS_MAX for sockets plus a reserve for HTTP
ENV PORT=8000
CMD ["gunicorn", "--config", "python:telejt.gunicorn_conf", "telejt.wsgi:app"]
