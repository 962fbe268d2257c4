# authbench in one image: built in a Rust stage, run in a slim Debian stage with nothing but
# the binary and the CA certificates. `authbench` is the entrypoint's program for every service
# of docker-compose.yml (seed, the servers, the load generator).
FROM docker.io/library/rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin authbench

FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/authbench /usr/local/bin/authbench
ENTRYPOINT []
CMD ["authbench", "--help"]
