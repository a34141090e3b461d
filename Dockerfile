# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run from a slim Debian with only libpq.
FROM rust:1.95-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the registry and compiled dependencies between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin calsync \
 && cp target/release/calsync /usr/local/bin/calsync

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin calsync
COPY --from=build /usr/local/bin/calsync /usr/local/bin/calsync
USER calsync
EXPOSE 8080
ENV BIND_ADDR=0.0.0.0:8080 RUST_LOG=info
ENTRYPOINT ["calsync"]
CMD ["serve"]
