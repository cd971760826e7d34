#!/usr/bin/env bash
# Bundles the Custom UI for `forge deploy` (docs/forge-ui.md, "Deploying"): the page's modules import
# `@forge/bridge` by name, which only a bundle can resolve in Forge. Run on the operator's machine
# with Node and npm; writes deploy/forge/static/reports/build/ and admin-build/ (the manifest's resources).
# Not run in this repository's CI: that machine cannot reach the npm registry. The package versions
# are left to npm (pin them in your own lockfile once a build is verified).
set -euo pipefail
cd "$(dirname "$0")"
# node_modules/ and the build are ignored by git.
npm install --no-save --no-package-lock --no-audit --no-fund @forge/bridge esbuild
# Two resources, each a directory whose index.html Forge serves: the app's page (`main`) and the admin
# page (`admin`, from admin.html). They share the stylesheet and the modules the bundles pull in.
bundle() { # entry, page, out
  rm -rf "$3" && mkdir -p "$3"
  node_modules/.bin/esbuild "static/reports/$1" --bundle --format=esm \
    --minify --target=es2020 --outfile="$3/$1"
  cp "static/reports/$2" "$3/index.html"
  cp static/reports/styles.css "$3/"
}
bundle app.js index.html static/reports/build
bundle admin.js admin.html static/reports/admin-build
echo "bundled into deploy/forge/static/reports/build and admin-build; next: forge deploy && forge install"
