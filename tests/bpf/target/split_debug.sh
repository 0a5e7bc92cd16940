#!/bin/sh
# BINARY DEBUG_ROOT: writes BINARY.stripped (no .symtab) and puts the symbols
# in DEBUG_ROOT/.build-id/xx/rest.debug, as Debian's -dbgsym packages do.
set -eu
bin="$1"
root="$2"
id="$(readelf -n "$bin" | awk '/Build ID:/ { print $3 }')"
[ -n "$id" ] || { echo "split_debug.sh: $bin has no build-id" >&2; exit 1; }
dir="$root/.build-id/$(echo "$id" | cut -c1-2)"
mkdir -p "$dir"
objcopy --only-keep-debug "$bin" "$dir/$(echo "$id" | cut -c3-).debug"
objcopy --strip-all "$bin" "$bin.stripped"
