# A small image with a static weir binary.
#   docker build -t weir .
#   docker run -p 9092:9092 -p 8080:8080 -v weir-data:/var/lib/weir weir --advertise localhost:9092
# Extra arguments go after `serve ...` (e.g. --advertise HOST:PORT, --set KEY=VALUE).
# Not built on the development machine (it has no container registry); kept reviewed.

FROM rust:1.95-alpine AS build
RUN apk add --no-cache musl-dev make perl
WORKDIR /src
COPY . .
# musl links statically; the bench and admin commands come with the binary (default features).
RUN cargo build --release --locked --bin weir \
 && strip target/release/weir

FROM scratch
COPY --from=build /src/target/release/weir /weir
VOLUME /var/lib/weir
EXPOSE 9092 8080
ENTRYPOINT ["/weir", "serve", "--listen", "0.0.0.0:9092", "--data-dir", "/var/lib/weir", "--http", "0.0.0.0:8080"]
