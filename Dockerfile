# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run from a slim Debian with only libpq and the
# CA bundle. Image names are fully qualified: podman (and Docker without a default registry)
# refuses short names.
#
#   docker build -t localhost/calsync:local .                              # calsync (default)
#   docker build --target emulator -t localhost/calsync-emulator:local .   # the Google emulator
#
# The default (last) stage holds the calsync binary only: nothing of the emulator crate
# (crates/gcal-emulator, a dev-dependency) is built into it. scripts/verify-image replays the
# RUN steps of the build and runtime stages in debootstrap chroots (docs/containers.md).

FROM docker.io/library/rust:1.95-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the registry and compiled dependencies between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p calsync --bin calsync \
 && cp target/release/calsync /usr/local/bin/calsync

# Only built for `--target emulator` (BuildKit skips stages the target does not need).
FROM build AS build-emulator
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p gcal-emulator --bin gcal-emulator \
 && cp target/release/gcal-emulator /usr/local/bin/gcal-emulator

# The emulator, for compose.yaml's local run. Not for production.
FROM docker.io/library/debian:bookworm-slim AS emulator
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin emulator
COPY --from=build-emulator /usr/local/bin/gcal-emulator /usr/local/bin/gcal-emulator
USER emulator
EXPOSE 8085
ENTRYPOINT ["gcal-emulator", "--bind", "0.0.0.0", "--port", "8085"]

# calsync: `migrate`, `serve`, `worker`, `credentials ...`, `channels ...`.
FROM docker.io/library/debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin calsync
COPY --from=build /usr/local/bin/calsync /usr/local/bin/calsync
USER calsync
# 8080: the webhook; 9090: /readyz and /metrics (ADMIN_BIND_ADDR, loopback by default: bind it
# to an interface only the orchestrator and the scraper reach).
EXPOSE 8080 9090
ENV BIND_ADDR=0.0.0.0:8080 RUST_LOG=info
ENTRYPOINT ["calsync"]
CMD ["serve"]
