# Multi-stage: build with the Rust toolchain, run from a slim image as a
# non-root user. Base images are pinned to exact versions, and the build
# uses the committed Cargo.lock (--locked): the same sources give the same
# image. (Pin digests too where your registry mirror allows: append
# @sha256:<digest> to each FROM.)
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p gatehouse-server --bin gatehouse

FROM debian:12.12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home gatehouse \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/gatehouse
COPY --from=build /src/target/release/gatehouse /usr/local/bin/gatehouse
USER 10001
# A directory the service may write: .eml files when no SMTP server is set.
WORKDIR /var/lib/gatehouse
# JSON log lines for collectors; AUTH_LOG_FORMAT=text to read them yourself.
ENV AUTH_LISTEN_ADDR=0.0.0.0:8080 \
    AUTH_LOG_FORMAT=json \
    AUTH_MAIL_DIR=/var/lib/gatehouse/mail
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve"]
