#!/usr/bin/env bash
# Fetches the upstream tarballs listed in deps.lock from Debian's source archive into <dir>,
# through a private apt configuration (the system's apt state is never touched), and verifies
# each against its pinned sha256. The mirror is the one this machine's apt already uses.
# Usage: scripts/deps/fetch.sh <download-dir>
set -euo pipefail
LOCK="$(cd "$(dirname "$0")" && pwd)/deps.lock"
DL=${1:?usage: fetch.sh <download-dir>}
APTDIR="$DL/.apt"
mkdir -p "$DL" "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"

verified() { [ -f "$DL/$1" ] && echo "$2  $DL/$1" | sha256sum -c --quiet - >/dev/null 2>&1; }

missing=0
while read -r name pkgver file sha; do
  case "$name" in ''|'#'*) continue ;; esac
  verified "$file" "$sha" || missing=1
done < "$LOCK"
[ "$missing" = 0 ] && exit 0

mirror=${SOCKUDO_WS_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
  mirror=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:\/\//){print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
fi
[ -n "$mirror" ] || { echo "fetch.sh: no Debian mirror found in the apt configuration; set SOCKUDO_WS_DEBIAN_MIRROR" >&2; exit 1; }
key=/usr/share/keyrings/debian-archive-keyring.gpg
: > "$APTDIR/sources.list"
for suite in sid trixie trixie-backports bookworm; do
  echo "deb-src [signed-by=$key] $mirror $suite main" >> "$APTDIR/sources.list"
done
APT=(-o Dir::State::Lists="$APTDIR/lists" -o Dir::Etc::SourceList="$APTDIR/sources.list"
     -o Dir::Etc::SourceParts=/nonexistent -o Dir::Cache="$APTDIR/cache"
     -o Dir::Cache::Archives="$APTDIR/cache/archives" -o APT::Sandbox::User=root)
apt-get "${APT[@]}" update -qq

cd "$DL"
while read -r name pkgver file sha; do
  case "$name" in ''|'#'*) continue ;; esac
  verified "$file" "$sha" && continue
  # The archive sometimes serves the upstream tarball but 404s the .dsc: apt's exit status is not
  # the verdict, the pinned sha256 is.
  apt-get "${APT[@]}" source --download-only "$pkgver" >/dev/null 2>&1 || true
  verified "$file" "$sha" || { echo "fetch.sh: could not fetch $file ($pkgver) with sha256 $sha" >&2; exit 1; }
  echo "fetched $file"
done < "$LOCK"
# keep only the pinned tarballs
find "$DL" -maxdepth 1 -type f ! -name '*.orig*.tar.*' -delete
find "$DL" -maxdepth 1 -type f -name '*.asc' -delete
