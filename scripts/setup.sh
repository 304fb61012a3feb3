#!/usr/bin/env bash
# Installs what zk2kraft's tests and demo need on a fresh Debian machine, idempotently:
# ZooKeeper 3.8 and a JRE from Debian (for the ensembles testenv runs, in Docker or as
# plain processes), Python's kazoo (the peer the read benchmark compares against),
# iptables and tmux (fault injection, the wizard's terminal test). The ZooKeeper Docker
# image itself is built by testenv from these installed packages (no registry needed).
set -euo pipefail
need=()
for p in zookeeper libslf4j-java libservlet-api-java python3-kazoo iptables tmux; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# What testenv runs ZooKeeper with (classpath and the Docker image's file list).
for f in /usr/share/java/zookeeper.jar /usr/share/java/slf4j-simple.jar /usr/share/java/netty-codec.jar; do
  [ -e "$f" ] || { echo "setup: $f missing after installing zookeeper/libslf4j-java" >&2; exit 1; }
done
command -v java >/dev/null || { echo "setup: java missing (the zookeeper package should have pulled a JRE)" >&2; exit 1; }
command -v go >/dev/null || { echo "setup: Go is not installed (want Go 1.26+ on PATH)" >&2; exit 1; }
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  echo "setup: Docker engine answers: testenv uses the docker backend (it builds its ZooKeeper image from"
  echo "       the packages above on first use: zk2kraft testenv image; ZK2KRAFT_TESTENV_BACKEND=process overrides)"
else
  echo "setup: no Docker engine: testenv uses the process backend"
fi
