#!/usr/bin/env bash
# Lay out sao's web root as its index.html expects it (bower_components/NAME/...), from the npm
# packages `npm ci` put in NODE_MODULES. sao 7.0 fetches those libraries with bower, whose
# registry this project does not use; the same libraries come from npm here.
# Usage: build-sao-root.sh NODE_MODULES ROOT
set -euo pipefail
modules=$(realpath "$1")
root=$2
rm -rf "$root"
mkdir -p "$root/bower_components/d3"
for entry in index.html dist images locale sounds; do
  ln -s "$modules/tryton-sao/$entry" "$root/$entry"
done
# bower name = npm name, except Sortable (npm: sortablejs); d3 5 keeps d3.min.js under dist/.
for name in jquery bootstrap moment gettext.js c3 papaparse fullcalendar mousetrap; do
  ln -s "$modules/$name" "$root/bower_components/$name"
done
ln -s "$modules/sortablejs" "$root/bower_components/Sortable"
ln -s "$modules/d3/dist/d3.min.js" "$root/bower_components/d3/d3.min.js"
# index.html loads these for a site's own additions; empty, so the page makes no failing request.
: > "$root/custom.js"
: > "$root/custom.css"
