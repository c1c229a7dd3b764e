# An image that holds lastcall alone, as /lastcall, for other images to copy.
# Build lastcall first (static, so that it runs in any image, FROM scratch and
# distroless too); the build copies it and pulls nothing:
#
#   CGO_ENABLED=0 go build -trimpath -o lastcall .
#   docker build -t lastcall .
#
# Then, in any image's Dockerfile:
#
#   COPY --from=lastcall /lastcall /lastcall
#   ENTRYPOINT ["/lastcall", "--"]
#
# A release binary (.ci/release) works too:
#   docker build --build-arg LASTCALL=dist/lastcall-VERSION-linux-amd64 -t lastcall .
FROM scratch
ARG LASTCALL=lastcall
COPY ${LASTCALL} /lastcall
ENTRYPOINT ["/lastcall"]
