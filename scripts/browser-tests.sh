#!/usr/bin/env bash
# The page's browser tests (scripts/browser-tests.py): serves dist/ on a free local port and
# drives headless Chromium against it, comparing the page's numbers with the native CLI.
# Screenshots of every view go to target/screenshots/. Needs a built dist/ unless --build.
set -euo pipefail
# shellcheck source=scripts/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$WB_ROOT"
[ "${1:-}" = "--build" ] && trunk build
[ -d dist ] || wb_die "no dist/: run trunk build first (or pass --build)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory dist >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
sleep 0.5
cargo build --quiet --bin whitebox
# Every script runs even when one fails; the step fails if any did.
status=0
python3 scripts/browser-tests.py "http://127.0.0.1:$port/" --whitebox target/debug/whitebox --shots target/screenshots || status=1
python3 scripts/browser-hostile.py "http://127.0.0.1:$port/" --shots target/screenshots || status=1
python3 scripts/browser-subspaces.py "http://127.0.0.1:$port/" --whitebox target/debug/whitebox --shots target/screenshots || status=1
python3 scripts/browser-train.py "http://127.0.0.1:$port/" --whitebox target/debug/whitebox --shots target/screenshots || status=1
python3 scripts/browser-lab.py "http://127.0.0.1:$port/" --whitebox target/debug/whitebox --shots target/screenshots || status=1
python3 scripts/browser-draw.py "http://127.0.0.1:$port/" --whitebox target/debug/whitebox --shots target/screenshots || status=1
python3 scripts/browser-segment.py "http://127.0.0.1:$port/" --whitebox target/debug/whitebox --shots target/screenshots || status=1
python3 scripts/browser-b8.py "http://127.0.0.1:$port/" --whitebox target/debug/whitebox --shots target/screenshots || status=1
exit $status
