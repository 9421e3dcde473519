# syntax=docker/dockerfile:1
#
# Ferry's images, one target each:
#   docker build --target ingester   -t ferry/ingester .
#   docker build --target router     -t ferry/router .
#   docker build --target fluent-bit -t ferry/fluent-bit .   (official Fluent Bit + out_ferry.so)
#
# The plugin is built on Debian 12 (glibc 2.36), the same glibc as the official Fluent Bit image
# (distroless, Debian 12 based): a plugin built against a newer glibc would not load there.

ARG GO_VERSION=1.26
ARG FLUENT_BIT_VERSION=5.1.1

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
# Module files first, so the dependency download is cached apart from the sources.
COPY go.work go.work.sum ./
COPY proto/go.mod proto/go.sum proto/
COPY internal/go.mod internal/go.sum internal/
COPY plugin/go.mod plugin/go.sum plugin/
COPY ingester/go.mod ingester/go.sum ingester/
COPY router/go.mod router/go.sum router/
COPY e2e/go.mod e2e/go.sum e2e/
RUN go mod download
COPY proto/ proto/
COPY internal/ internal/
COPY plugin/ plugin/
COPY ingester/ ingester/
COPY router/ router/
COPY e2e/ e2e/
RUN CGO_ENABLED=0 go build -trimpath -o /out/ingester ./ingester/cmd/ingester \
 && CGO_ENABLED=0 go build -trimpath -o /out/router ./router/cmd/router \
 && cd plugin && CGO_ENABLED=1 go build -trimpath -buildmode=c-shared -o /out/out_ferry.so .

FROM debian:bookworm-slim AS ingester
COPY --from=build /out/ingester /usr/local/bin/ingester
COPY deploy/local/ferry.json /etc/ferry/ferry.json
USER 65532:65532
EXPOSE 7400 7401
ENTRYPOINT ["ingester"]
CMD ["api", "--listen", "0.0.0.0:7400", "--http-listen", "0.0.0.0:7401", "--config", "/etc/ferry/ferry.json", "--keyring", "/secrets/keyring.json", "--token-keys", "/secrets/token-keys.json", "--tls-cert", "/secrets/certs/server.pem", "--tls-key", "/secrets/certs/server-key.pem", "--kafka-brokers", "kafka:9092"]

FROM debian:bookworm-slim AS router
COPY --from=build /out/router /usr/local/bin/router
USER 65532:65532
EXPOSE 7402
ENTRYPOINT ["router"]
CMD ["consumer", "--kafka-brokers", "kafka:9092", "--destination", "file", "--file-dir", "/var/lib/ferry/out", "--keyring", "/secrets/keyring.json", "--http-listen", "0.0.0.0:7402"]

FROM fluent/fluent-bit:${FLUENT_BIT_VERSION} AS fluent-bit
COPY --from=build /out/out_ferry.so /fluent-bit/plugins/out_ferry.so
COPY deploy/fluent-bit/fluent-bit.yaml deploy/fluent-bit/fluent-bit.conf deploy/fluent-bit/plugins.conf /fluent-bit/etc/
# Never run Fluent Bit with -d (daemon mode) with a Go plugin: the fork deadlocks the Go runtime.
ENTRYPOINT ["/fluent-bit/bin/fluent-bit"]
CMD ["-c", "/fluent-bit/etc/fluent-bit.yaml"]
