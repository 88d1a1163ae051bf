#!/usr/bin/env bash
# GraphiQL's browser bundles, served by Django as static files so GraphiQL works offline:
# installs the versions pinned in frontend/graphiql/package-lock.json (npm ci) and copies the
# files listed in frontend/graphiql/assets.json to frontend/graphiql/dist/graphiql/<package>/...
# (STATICFILES_DIRS, URL /static/graphiql/...). Without them GraphiQL loads the same versions
# from a CDN. Does nothing when dist/ is newer than the lock file and the asset list.
set -euo pipefail
cd "$(dirname "$0")/../frontend/graphiql"

if [ -f dist/graphiql/graphiql/graphiql.min.js ] \
  && [ dist -nt package-lock.json ] && [ dist -nt assets.json ]; then
  exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
rm -rf dist
node -e '
const fs = require("fs");
const path = require("path");
const assets = JSON.parse(fs.readFileSync("assets.json", "utf8"));
for (const file of [...assets.scripts, ...assets.styles]) {
  const target = path.join("dist", "graphiql", file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(path.join("node_modules", file), target);
}
console.log(`GraphiQL assets: ${assets.scripts.length + assets.styles.length} files in frontend/graphiql/dist/`);
'
