# p1mqtt in a container: build with the Swift toolchain, run on a slim Debian with only the libraries the
# binary links (libmosquitto, OpenSSL). See deploy/README.md for `docker run` and docker compose.
#
#   docker build -t p1mqtt .
#   docker run --rm --device /dev/ttyUSB0 -v ./config:/config p1mqtt

# --- Build ----------------------------------------------------------------------------------------------
FROM swift:6.3-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmosquitto-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so editing the sources does not fetch them again.
COPY Package.swift Package.resolved ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
# The Swift standard library is linked into the binary: the runtime image needs no Swift toolchain.
RUN swift build -c release --static-swift-stdlib --product p1mqtt \
    && install -D -m 755 "$(swift build -c release --show-bin-path)/p1mqtt" /out/p1mqtt

# --- Run ------------------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# libstdc++6 and libgcc-s1, which the binary also needs, are part of the base image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmosquitto1 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 p1mqtt \
    && useradd --system --uid 10001 --gid p1mqtt --groups dialout --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin p1mqtt
COPY --from=build /out/p1mqtt /usr/local/bin/p1mqtt
# The defaults (the simulated meter, broker localhost:1883); mount your own /config over it.
COPY config/p1mqtt.json config/p1mqtt.schema.json /config/
# p1mqtt writes no files: it needs no volume and runs fine with a read-only root file system.
# A fixed, unprivileged user id (10001), so mounted secret files can be given to it; member of dialout
# (group 20) for serial devices.
USER p1mqtt
ENTRYPOINT ["p1mqtt"]
CMD ["run", "--config", "/config/p1mqtt.json"]
