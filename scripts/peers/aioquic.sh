#!/usr/bin/env bash
# The HTTP/3 interop peers (test/interop/peers/h3_websocket.py, and hypercorn_server.py --quic):
# aioquic 1.2.0 and Hypercorn 0.17 (RFC 9220 on its h3 stack; bookworm's 0.13 has no WebSocket
# over h3) are not in bookworm, so Debian trixie's packages and the few newer modules they need
# are unpacked (not installed) into ~/.cache/sockudo-ws/peers/aioquic-<key>/site, through a private apt configuration
# on the mirror this machine's apt already uses (the system's apt state is never touched). Their
# abi3 extensions run on bookworm's Python 3.11. pylsqpack's binary does not (PY_SSIZE_T_CLEAN), so
# it is rebuilt from sid's source package, verified by its sha256. Needs python3-certifi,
# python3-attr, python3-wsproto and libpython3.11-dev from bookworm (.ci/run installs them).
# Prints the site directory. Usage: scripts/peers/aioquic.sh
set -euo pipefail
DEBS=(python3-aioquic=1.2.0-1 python3-cryptography=43.0.0-3+deb13u1 python3-openssl=25.0.0-1+deb13u1
      python3-service-identity=24.2.0-1 python3-pyasn1=0.6.1-1+deb13u3 python3-pyasn1-modules=0.4.1-2
      python3-typing-extensions=4.13.2-1 python3-hypercorn=0.17.3-2)
LSQPACK_SRC=pylsqpack=0.3.23-1
LSQPACK_TAR=pylsqpack_0.3.23.orig.tar.gz
LSQPACK_SHA=f55b126940d8b3157331f123d4428d703a698a6db65a6a7891f7ec1b90c86c56
key=$(printf '%s\n' "${DEBS[@]}" "$LSQPACK_SHA" | sha256sum | cut -c1-16)
OUT="${SOCKUDO_WS_CACHE:-$HOME/.cache/sockudo-ws}/peers/aioquic-$key"
if [ -f "$OUT/ok" ]; then echo "$OUT/site"; exit 0; fi

mirror=${SOCKUDO_WS_DEBIAN_MIRROR:-}
[ -n "$mirror" ] || mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:\/\//){print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { echo "aioquic.sh: no Debian mirror in the apt configuration; set SOCKUDO_WS_DEBIAN_MIRROR" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial" "$WORK/debs" "$WORK/src"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
{
  echo "deb [signed-by=$keyring] $mirror trixie main"
  echo "deb-src [signed-by=$keyring] $mirror sid main"
} > "$WORK/apt/sources.list"
APT=(-o Dir::State::Lists="$WORK/apt/lists" -o Dir::Etc::SourceList="$WORK/apt/sources.list"
     -o Dir::Etc::SourceParts=/nonexistent -o Dir::Cache="$WORK/apt/cache"
     -o Dir::Cache::Archives="$WORK/apt/cache/archives" -o APT::Sandbox::User=root -o APT::Architecture=amd64)
apt-get "${APT[@]}" update -qq
(cd "$WORK/debs" && apt-get "${APT[@]}" download "${DEBS[@]}" >/dev/null)
mkdir -p "$WORK/root"
for d in "$WORK"/debs/*.deb; do dpkg-deb -x "$d" "$WORK/root"; done

# pylsqpack: the archive sometimes 404s a .dsc or .debian.tar while serving the tarball, so the
# pinned sha256 is the verdict, not apt's exit status.
(cd "$WORK/src" && apt-get "${APT[@]}" source --download-only "$LSQPACK_SRC" >/dev/null 2>&1 || true)
echo "$LSQPACK_SHA  $WORK/src/$LSQPACK_TAR" | sha256sum -c --quiet - || { echo "aioquic.sh: could not fetch $LSQPACK_TAR" >&2; exit 1; }
tar -xzf "$WORK/src/$LSQPACK_TAR" -C "$WORK/src"
LS="$WORK/src/pylsqpack-0.3.23"
SITE="$WORK/root/usr/lib/python3/dist-packages"
rm -rf "$SITE/pylsqpack"
mkdir -p "$SITE/pylsqpack"
cp "$LS/src/pylsqpack/__init__.py" "$SITE/pylsqpack/"
gcc -O2 -shared -fPIC -DPy_LIMITED_API=0x030A0000 $(/usr/bin/python3-config --includes 2>/dev/null || echo -I/usr/include/python3.11) \
  -I"$LS/vendor/ls-qpack" -I"$LS/vendor/ls-qpack/deps/xxhash" \
  "$LS/src/pylsqpack/binding.c" "$LS/vendor/ls-qpack/lsqpack.c" "$LS/vendor/ls-qpack/deps/xxhash/xxhash.c" \
  -o "$SITE/pylsqpack/_binding.abi3.so"
PYTHONPATH="$SITE" /usr/bin/python3 -c 'import pylsqpack, aioquic.h3.connection, aioquic.asyncio, hypercorn.protocol.h3' \
  || { echo "aioquic.sh: aioquic does not import on this Python" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
cp -r "$SITE" "$OUT/site"
touch "$OUT/ok"
echo "$OUT/site"
