#!/usr/bin/env bash
# Replaces the vendored GraphiQL, React and ReactDOM with the versions named below, from
# the npm registry (through the machine's npm), and records them in VERSIONS. The page
# (index.html) refers to the files by name; the server computes their integrity hashes
# and cache-busting addresses when it starts, so nothing else needs editing. Then run
# the GraphiQL tests:
#   cargo test --test e2e -- graphiql
# GraphiQL 5 needs React 19, which no longer ships UMD builds (and bundles Monaco with
# web workers): moving to it means building a bundle, not copying one.
set -euo pipefail
GRAPHIQL=4.0.3
REACT=18.3.1

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null
for package in "graphiql-$GRAPHIQL" "react-$REACT" "react-dom-$REACT"; do
  mkdir "$package"
  tar xzf "$package.tgz" -C "$package"
done

cp "graphiql-$GRAPHIQL/package/graphiql.min.js" "graphiql-$GRAPHIQL/package/graphiql.min.css" "$here/"
cp "react-$REACT/package/umd/react.production.min.js" "$here/"
cp "react-dom-$REACT/package/umd/react-dom.production.min.js" "$here/"
cp "graphiql-$GRAPHIQL/package/LICENSE" "$here/LICENSE.graphiql"
cp "react-$REACT/package/LICENSE" "$here/LICENSE.react"
# The source map is not vendored: drop the comment that would have browsers ask for it.
sed -i 's|//# sourceMappingURL=.*$||' "$here/graphiql.min.js"

{
  echo "# Vendored by update.sh from the npm registry; licenses in LICENSE.*"
  for package in "graphiql-$GRAPHIQL" "react-$REACT" "react-dom-$REACT"; do
    node -e 'const p = require(process.argv[1]); console.log(`${p.name}@${p.version} ${p.license}`)' \
      "$work/$package/package/package.json"
  done
  for file in graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js; do
    echo "sha256 $(sha256sum "$here/$file" | cut -d' ' -f1) $file"
  done
} > "$here/VERSIONS"
cat "$here/VERSIONS"
