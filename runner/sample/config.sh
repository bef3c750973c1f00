#!/usr/bin/env bash
# Sample runner (jit-runners sandbox):
#   config.sh --unattended --url <server>/<owner>/<repo> --token <registration token> --name N --labels L [--no-default-labels] [--replace] [--ephemeral]
#   config.sh remove --token <remove token>
set -e
RUNNER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export RUNNER_ROOT
NODE_BIN="$("$RUNNER_ROOT/bin/find-node.sh")"
cd "$RUNNER_ROOT"
exec "$NODE_BIN" "$RUNNER_ROOT/bin/Runner.Listener.mjs" configure "$@"
