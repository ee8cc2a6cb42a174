#!/bin/sh
# The production install of the glueline worker, the one the image runs (deploy/Containerfile) and
# test/deploy/production-install.test.ts runs in a clean directory when no container engine is present:
#
#   sh deploy/install-production.sh <glueline-x.y.z.tgz> <package-lock.json> <install dir>
#
# The tarball is `npm pack`'s (its prepack built dist/ with tsc: JavaScript, no tsx). npm pack leaves the
# lockfile out, so it is given beside it: `npm ci --omit=dev` then installs exactly the locked production
# dependencies (no TypeScript, tsx, eslint or test servers). Ends by running the installed CLI once.
set -eu
if [ "$#" -ne 3 ]; then
  echo "usage: sh deploy/install-production.sh <glueline tarball> <package-lock.json> <install dir>" >&2
  exit 2
fi
tarball=$1
lockfile=$2
dest=$3
for f in "$tarball" "$lockfile"; do
  [ -f "$f" ] || { echo "install-production: no file $f" >&2; exit 2; }
done
if [ -e "$dest" ] && [ -n "$(ls -A "$dest")" ]; then
  echo "install-production: $dest is not empty: give a new or empty directory" >&2
  exit 2
fi
mkdir -p "$dest"
# An npm tarball holds one folder, package/.
tar -xzf "$tarball" -C "$dest" --strip-components=1
cp "$lockfile" "$dest/package-lock.json"
cd "$dest"
npm ci --omit=dev --no-audit --no-fund --loglevel=error
node dist/starters/cli.js --version >/dev/null
echo "install-production: glueline $(node dist/starters/cli.js --version) in $(pwd)"
