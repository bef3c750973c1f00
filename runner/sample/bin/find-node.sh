#!/usr/bin/env bash
# Prints the node binary the sample runner should use. Runners get a minimal environment, so PATH may be
# short: look next to the runner first (like actions/runner's externals/node20), then PATH, then the usual places.
# RUNNER_NODE may point at a specific binary.
for candidate in "${RUNNER_NODE:-}" "$RUNNER_ROOT/externals/node20/bin/node" "$(command -v node 2>/dev/null)" \
  /usr/local/bin/node /usr/bin/node /opt/homebrew/bin/node; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "$candidate"
    exit 0
  fi
done
echo "node was not found; set RUNNER_NODE or install Node.js 20" >&2
exit 1
