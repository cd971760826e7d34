#!/usr/bin/env bash
# Bundles the Custom UI for `forge deploy` (docs/forge-ui.md, "Deploying"): the page's modules import
# `@forge/bridge` by name, which only a bundle can resolve in Forge. Run on the operator's machine
# with Node and npm; writes deploy/forge/static/reports/build/ (the manifest's resource).
# Not run in this repository's CI: that machine cannot reach the npm registry. The package versions
# are left to npm (pin them in your own lockfile once a build is verified).
set -euo pipefail
cd "$(dirname "$0")"
# node_modules/ and the build are ignored by git.
npm install --no-save --no-package-lock --no-audit --no-fund @forge/bridge esbuild
out=static/reports/build
rm -rf "$out" && mkdir -p "$out"
node_modules/.bin/esbuild static/reports/app.js --bundle --format=esm \
  --minify --target=es2020 --outfile="$out/app.js"
cp static/reports/index.html static/reports/styles.css "$out/"
echo "bundled into deploy/forge/$out; next: forge deploy && forge install"
