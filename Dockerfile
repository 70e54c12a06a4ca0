# Reels Generator on the official Ray image. CPU by default; GPU workers: --build-arg FLAVOR=-gpu
# (the -gpu image ships a CUDA torch, which install.sh keeps because torch is already importable).
ARG RAY_VERSION=2.60.0
ARG FLAVOR=-cpu
FROM rayproject/ray:${RAY_VERSION}-py311${FLAVOR}

USER root
WORKDIR /app
COPY pyproject.toml README.md ./
COPY scripts ./scripts
COPY pipeline ./pipeline
COPY cluster ./cluster
COPY actors ./actors
COPY serve_app ./serve_app
# The same install script as the README and CI: apt packages, then the project (into a venv that sees Ray).
RUN REELS_VENV=/opt/reels REELS_SYSTEM_SITE=1 REELS_EXTRAS= bash scripts/install.sh \
    && rm -rf /var/lib/apt/lists/* /root/.cache/pip
ENV PATH=/opt/reels/bin:$PATH \
    RAY_USAGE_STATS_ENABLED=0 \
    RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH=cluster.proxy_rules.middlewares
USER ray
ENTRYPOINT ["reels"]
CMD ["--help"]
