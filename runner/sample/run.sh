#!/usr/bin/env bash
# Sample runner (jit-runners sandbox): run.sh [--jitconfig <encoded_jit_config>]
# or with ACTIONS_RUNNER_INPUT_JITCONFIG in the environment; without either, runs the runner configured by config.sh.
set -e
RUNNER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export RUNNER_ROOT
NODE_BIN="$("$RUNNER_ROOT/bin/find-node.sh")"
cd "$RUNNER_ROOT"
# exec: signals sent to run.sh (SIGTERM from the launcher) reach the listener itself.
exec "$NODE_BIN" "$RUNNER_ROOT/bin/Runner.Listener.mjs" run "$@"
