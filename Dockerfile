# riskreg API image: slim Python, non-root, migrates then serves.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    RISKREG_ENV=production

WORKDIR /srv/riskreg
RUN useradd --system --uid 10001 --home-dir /srv/riskreg riskreg

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --upgrade pip && pip install . && chown -R riskreg /srv/riskreg

USER riskreg
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
# `serve` runs the Alembic migrations (under a PostgreSQL advisory lock) before uvicorn starts.
CMD ["riskreg", "serve", "--host", "0.0.0.0", "--port", "8000"]
