# The operator's image, for teams that build with Docker (BuildKit):
#   docker build -t lbgate:dev .
# `make image` builds the same image without a daemon (hack/image): the
# static binary at /lbgate, run as the numeric non-root user 65532, no shell.
# GO_VERSION is go.mod's go version: the golang images set GOTOOLCHAIN=local.
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/lbgate ./cmd/lbgate

# distroless/static: CA certificates and tzdata, no shell, no package manager.
FROM gcr.io/distroless/static:nonroot
LABEL org.opencontainers.image.title="lbgate" \
      org.opencontainers.image.source="https://github.com/lbgate/lbgate"
COPY --from=build /out/lbgate /lbgate
USER 65532:65532
WORKDIR /
ENTRYPOINT ["/lbgate"]
