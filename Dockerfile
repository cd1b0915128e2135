FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ANNOGRAPH_HOST=0.0.0.0 ANNOGRAPH_VAR_DIR=/var/lib/annograph
WORKDIR /app

# h5py, numpy, scipy, Pillow, PyAV (FFmpeg with dav1d, x264, x265 inside), pyarrow, rosbags and mcap
# ship wheels; nothing to compile.
COPY pyproject.toml README.md alembic.ini ./
COPY graph ./graph
COPY domain ./domain
COPY persistence ./persistence
COPY migrations ./migrations
# The detect extra (Ultralytics) with PyTorch's CPU build, not the multi-GB CUDA one.
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -e '.[detect]' \
    && useradd --create-home annograph \
    && mkdir -p /var/lib/annograph/datasets /var/lib/annograph/artifacts && chown -R annograph /var/lib/annograph
USER annograph

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
CMD ["sh", "-c", "annograph migrate && annograph serve"]
