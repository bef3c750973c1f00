#!/usr/bin/env bash
# jit-runners bootstrap: turns a fresh CodeBuild build or EC2 instance into ONE ephemeral GitHub
# Actions runner.
#
#   1. read what to run (JR_* below: build environment on CodeBuild, instance tags via IMDSv2 on EC2)
#   2. fetch the pinned actions-runner tarball for this architecture: from the fleet's tarball cache
#      (JR_RUNNER_CACHE_BUCKET) when it holds it, else from github.com
#   3. verify its SHA-256 against the digest handed for an adopted version, else checksums.json
#      (mismatch or missing entry: refuse)
#   4. wait for the hand-off (the JIT config or registration token in its SSM SecureString; the functions
#      write it only after the launch) and read it; never delete it (runners can delete nothing: the
#      functions delete it once the runner is seen, an SSM expiration policy is the backstop)
#   5. jit:     write the files the JIT config carries (.runner with DisableUpdate, .credentials,
#               .credentials_rsaparams; mode 600) into the runner directory, then ./run.sh
#      regular: ./config.sh --unattended ... --disableupdate (token in ACTIONS_RUNNER_INPUT_TOKEN of
#               config.sh alone), then ./run.sh                 (the metadata workaround)
#   6. EC2: shut down (the launch template terminates the instance on shutdown)
#
# Warm mode (JR_WARM_IDLE_SECONDS set: a runner booted before its job, ports/warm-launcher.ts): steps 1-3
# as above, then step 4 waits up to JR_WARM_IDLE_SECONDS for the hand-off (planned from the warm name,
# written only when a job claims this runner), polling every JR_WARM_POLL_SECONDS plus a random jitter;
# the hand-off is read, written and run exactly as a cold runner's (one job, then the machine ends). No
# hand-off by then: exit 0 without registering anything (EC2: the instance shuts down and terminates).
#
# The secret never appears in a process's arguments or in an exported variable: it goes from the aws
# CLI's stdout into a shell variable, then through pipes into base64 and the files, and the runner and
# the workflow steps it starts inherit an environment without it (docs/decisions.md, "Secrets out of
# argv": what actions/runner's own source says about --jitconfig, ACTIONS_RUNNER_INPUT_* and DisableUpdate).
#
# Inputs (never secrets: the secret only ever lives in SSM, in this shell's memory and in the runner's files):
#   JR_MODE            jit | regular
#   JR_PARAMETER       SSM parameter name holding the JIT config / registration token
#   JR_RUNNER_NAME     runner name (logs; config.sh --name in regular mode)
#   JR_RUNNER_VERSION  exact actions/runner version, e.g. 2.330.0
#   JR_URL, JR_LABELS  regular mode: config.sh --url / --labels
#   JR_WARM_IDLE_SECONDS  warm mode (jit only): wait this many seconds (1-86400) for the hand-off, then exit 0
#   JR_WARM_NAME       warm mode: the name the runner was booted under (logs)
#   JR_RUNNER_SHA256_X64, JR_RUNNER_SHA256_ARM64  optional: the SHA-256 of this version's linux-x64 / linux-arm64
#                      tarball, handed by the functions for a version the reconciler adopted (its digest is
#                      from the release notes); the one of this architecture replaces the checksums.json entry
#   JR_RUNNER_CACHE_BUCKET  optional: the fleet's S3 bucket; the tarball is first copied from
#                      s3://<bucket>/runner-tarballs/<tarball> (the reconciler uploads each adopted version's
#                      tarballs there, verified) and downloaded from JR_DOWNLOAD_BASE_URL only when that fails.
#                      Either way the digest is checked as below: the cache is never trusted on its own.
# Knobs (defaults are for AWS; tests override them):
#   JR_PLATFORM        codebuild | ec2 | other   (default: codebuild when CODEBUILD_BUILD_ID is set, else other)
#   JR_DOWNLOAD_BASE_URL  default https://github.com/actions/runner/releases/download
#   JR_CHECKSUMS_FILE  default: checksums.json next to this script
#   JR_AWS             AWS CLI command (default aws)
#   JR_HANDOFF_WAIT_SECONDS  how long to wait for the hand-off to appear (default 120)
#   JR_HANDOFF_POLL_SECONDS  sleep between reads while waiting (default 2)
#   JR_WARM_POLL_SECONDS  warm mode: sleep between reads while idle (default 1; each GetParameter counts
#                      against the account's Parameter Store throughput, docs/decisions.md "Warm runners")
#   JR_WARM_POLL_JITTER_MS  warm mode: up to this many milliseconds (0-999) added to each sleep, so warm
#                      runners booted together do not poll in step (default 500)
#   JR_RUNNER_DIR      where the runner is unpacked (default: a fresh temporary directory)
#   JR_ARCH            x64 | arm64 (default: from uname -m)
#   JR_IMDS_URL        default http://169.254.169.254
#   JR_LOG_FILE        also append all output to this file (EC2: shipped to CloudWatch Logs by the agent)
#   JR_FAILURE_FLUSH_SECONDS  CodeBuild/EC2: seconds to wait after a bootstrap failure before exiting
#                      (EC2: shutting down), so its log line reaches runner-events first (default 10)
#
# Exit codes (runner-events reads them from the build's phase context; functions/domain/bootstrap-exit.ts
# holds the same table, and failure classes follow from it):
#   2 bad input (or config.sh failed)
#   3 no checksum for the tarball in checksums.json, or a handed JR_RUNNER_SHA256_* that is not 64 hex digits
#   4 checksum mismatch: the tarball's SHA-256 is not the pinned one. Failure class checksum-mismatch:
#     the job fails at once (no retry: every attempt would download the same bytes). The line reads
#     `jit-runners bootstrap: error: checksum mismatch for runner version V (TARBALL): expected sha256 E, got A; …`
#   5 hand-off unreadable: not readable within JR_HANDOFF_WAIT_SECONDS, empty, or not a JIT config
#   6 download failed (the cache missed or was unreadable, and the github.com download failed too)
#   otherwise the runner's own exit code (run.sh exits 0 after its one job).

# Never trace: the JIT config and the registration token pass through variables of this shell.
set +x
set -euo pipefail
umask 077

log() { printf 'jit-runners bootstrap: %s\n' "$*" >&2; }
die() {
  local code=$1
  shift
  log "error: $*"
  exit "$code"
}

if [[ -n "${JR_LOG_FILE:-}" ]]; then
  mkdir -p "$(dirname "$JR_LOG_FILE")"
  exec > >(tee -a "$JR_LOG_FILE") 2>&1
fi

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
platform=${JR_PLATFORM:-}
if [[ -z "$platform" ]]; then
  if [[ -n "${CODEBUILD_BUILD_ID:-}" ]]; then platform=codebuild; else platform=other; fi
fi
download_base=${JR_DOWNLOAD_BASE_URL:-https://github.com/actions/runner/releases/download}
checksums_file=${JR_CHECKSUMS_FILE:-$script_dir/checksums.json}
aws_cli=${JR_AWS:-aws}
imds=${JR_IMDS_URL:-http://169.254.169.254}
handoff_wait=${JR_HANDOFF_WAIT_SECONDS:-120}
handoff_poll=${JR_HANDOFF_POLL_SECONDS:-2}
warm_idle=${JR_WARM_IDLE_SECONDS:-}
warm_poll=${JR_WARM_POLL_SECONDS:-1}
warm_jitter=${JR_WARM_POLL_JITTER_MS:-500}
failure_flush=${JR_FAILURE_FLUSH_SECONDS:-10}

# ── on exit: let the failure line reach runner-events; EC2: the instance must not outlive its runner ──
runner_started=false
# shellcheck disable=SC2317  # invoked by the EXIT trap
on_exit() {
  local rc=$?
  if [[ "$rc" != 0 && "$runner_started" == false && "$platform" != other ]]; then
    # Why: runner-events learns why a bootstrap failed from its log line; the build's or instance's end
    # may reach it first (an instance state change carries no exit code), and the CloudWatch agent
    # ships every few seconds. Waiting a little lets the line that names the cause arrive first.
    sleep "$failure_flush" || true
  fi
  if [[ "$platform" == ec2 ]]; then
    log "runner finished (exit $rc); shutting down"
    shutdown -h now || poweroff || true
  fi
}
trap on_exit EXIT

# ── 1. what to run ──
imds_token=''
imds_tag() {
  if [[ -z "$imds_token" ]]; then
    imds_token=$(curl -fsS -X PUT "$imds/latest/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300') ||
      die 2 "cannot reach the instance metadata service (IMDSv2) to read the runner tags"
  fi
  curl -fsS -H "X-aws-ec2-metadata-token: $imds_token" "$imds/latest/meta-data/tags/instance/$1" || true
}
if [[ "$platform" == ec2 ]]; then
  for name in JR_MODE JR_PARAMETER JR_RUNNER_NAME JR_RUNNER_VERSION JR_URL JR_LABELS JR_RUNNER_SHA256_X64 JR_RUNNER_SHA256_ARM64 JR_WARM_NAME JR_WARM_IDLE_SECONDS; do
    if [[ -z "${!name:-}" ]]; then
      value=$(imds_tag "$name")
      printf -v "$name" '%s' "$value"
    fi
  done
  warm_idle=${JR_WARM_IDLE_SECONDS:-}
fi

mode=${JR_MODE:-}
parameter=${JR_PARAMETER:-}
runner_name=${JR_RUNNER_NAME:-}
version=${JR_RUNNER_VERSION:-}
case "$mode" in
  jit | regular) ;;
  *) die 2 "JR_MODE must be jit or regular (got '${mode}')" ;;
esac
[[ -n "$parameter" ]] || die 2 "JR_PARAMETER is missing: no JIT config hand-off to read"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die 2 "JR_RUNNER_VERSION must be an exact version such as 2.330.0 (got '${version}')"
[[ "$handoff_wait" =~ ^[0-9]+$ ]] || die 2 "JR_HANDOFF_WAIT_SECONDS must be a whole number of seconds (got '${handoff_wait}')"
[[ "$handoff_poll" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die 2 "JR_HANDOFF_POLL_SECONDS must be a number of seconds (got '${handoff_poll}')"
[[ "$failure_flush" =~ ^[0-9]+$ ]] || die 2 "JR_FAILURE_FLUSH_SECONDS must be a whole number of seconds (got '${failure_flush}')"
if [[ -n "$warm_idle" ]]; then
  [[ "$mode" == jit ]] || die 2 "JR_WARM_IDLE_SECONDS is for JIT runners only (JR_MODE is '${mode}')"
  if [[ ! "$warm_idle" =~ ^[0-9]{1,5}$ ]] || ((10#$warm_idle < 1 || 10#$warm_idle > 86400)); then
    die 2 "JR_WARM_IDLE_SECONDS must be a whole number of seconds from 1 to 86400 (got '${warm_idle}')"
  fi
  warm_idle=$((10#$warm_idle))
  [[ "$warm_poll" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die 2 "JR_WARM_POLL_SECONDS must be a number of seconds (got '${warm_poll}')"
  [[ "$warm_jitter" =~ ^[0-9]{1,3}$ ]] || die 2 "JR_WARM_POLL_JITTER_MS must be 0-999 (got '${warm_jitter}')"
  # Waiting while warm uses the cold runner's loop below, with the idle bound and the warm poll.
  handoff_wait=$warm_idle
  handoff_poll=$warm_poll
fi
if [[ "$mode" == regular ]]; then
  [[ -n "${JR_URL:-}" ]] || die 2 "JR_URL is required in regular mode"
  [[ -n "${JR_LABELS:-}" ]] || die 2 "JR_LABELS is required in regular mode"
  [[ -n "$runner_name" ]] || die 2 "JR_RUNNER_NAME is required in regular mode"
fi

arch=${JR_ARCH:-}
if [[ -z "$arch" ]]; then
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die 2 "unsupported machine architecture $(uname -m)" ;;
  esac
fi
[[ "$arch" == x64 || "$arch" == arm64 ]] || die 2 "JR_ARCH must be x64 or arm64 (got '${arch}')"

log "runner ${runner_name:-?} mode=$mode version=$version arch=$arch platform=$platform${warm_idle:+ warm (idle up to ${warm_idle} s)}"

# ── 2 + 3. download and verify the pinned tarball ──
tarball="actions-runner-linux-${arch}-${version}.tar.gz"
# The digest handed for this architecture (a version the reconciler adopted) wins; without one, the table.
handed_name="JR_RUNNER_SHA256_${arch^^}"
handed=${!handed_name:-}
if [[ -n "$handed" ]]; then
  # Why refuse instead of falling back to the table: a malformed digest means the hand-off is broken, and
  # the table may hold nothing for an adopted version (or, worse, something else than what was adopted).
  [[ "$handed" =~ ^[0-9a-fA-F]{64}$ ]] || die 3 "$handed_name is not a SHA-256 (64 hex digits); refusing to run an unverified runner"
  expected=$handed
  log "expected sha256 for $tarball handed in $handed_name"
else
  [[ -r "$checksums_file" ]] || die 3 "checksum table $checksums_file is missing; refusing to run an unverified runner"
  key_re=${tarball//./\\.}
  expected=$(sed -n "s/.*\"${key_re}\"[[:space:]]*:[[:space:]]*\"\([0-9a-fA-F]\{64\}\)\".*/\1/p" "$checksums_file" | head -n 1)
  [[ -n "$expected" ]] || die 3 "no SHA-256 for $tarball in $checksums_file; add it from the release notes before pinning $version"
fi

runner_dir=${JR_RUNNER_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/actions-runner.XXXXXX")}
mkdir -p "$runner_dir"
download="$runner_dir.download.tar.gz"
url="$download_base/v$version/$tarball"
cache_bucket=${JR_RUNNER_CACHE_BUCKET:-}
fetched=false
if [[ -n "$cache_bucket" ]]; then
  [[ "$cache_bucket" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die 2 "JR_RUNNER_CACHE_BUCKET is not an S3 bucket name (got '${cache_bucket}')"
  cached="s3://$cache_bucket/runner-tarballs/$tarball"
  # A miss (the version was never adopted, e.g. an exact pin) or a denied read falls back to github.com.
  if "$aws_cli" s3 cp --only-show-errors "$cached" "$download" >/dev/null 2>&1; then
    fetched=true
    log "fetched $cached from the tarball cache"
  else
    rm -f "$download"
    log "$cached is not in the tarball cache (or not readable); downloading from github.com instead"
  fi
fi
if [[ "$fetched" == false ]]; then
  log "downloading $url"
  curl -fsSL --retry 3 --retry-delay 2 -o "$download" "$url" || die 6 "download of $url failed"
fi
actual=$(sha256sum "$download" | cut -d ' ' -f 1)
if [[ "${actual,,}" != "${expected,,}" ]]; then
  rm -f "$download"
  # One stable line: the checksum-mismatch signature (functions/domain/failure-signatures.ts) reads the
  # version and the expected digest from it.
  die 4 "checksum mismatch for runner version $version ($tarball): expected sha256 ${expected,,}, got ${actual,,}; refusing to run it"
fi
log "verified $tarball sha256=$actual"
tar -xzf "$download" -C "$runner_dir"
rm -f "$download"

# ── 4. the secret, out of band ──
# The functions launch first and write the hand-off after (its read permission names this very build
# or instance), so it may not exist yet, or not be readable yet (a read before the tag lands is denied):
# both are retried until the deadline. Anything else (a KMS or validation error) will not heal by waiting.
if [[ -n "$warm_idle" ]]; then
  # Read by runner-events through the log subscription (its filter selects this phrase): the warm runner's
  # record goes from booting to ready, and claims prefer ready runners. Keep the wording; the functions
  # match it (functions/domain/warm-ready-line.ts).
  log "warm runner ready: ${JR_WARM_NAME:-$runner_name} (runner $version, verified); waiting up to ${warm_idle} s for its hand-off"
fi
handoff_error=$(mktemp "${TMPDIR:-/tmp}/jr-handoff.XXXXXX")
deadline=$((SECONDS + handoff_wait))
tries=0
secret=''
while :; do
  tries=$((tries + 1))
  # The value leaves the CLI through its stdout (a pipe into this shell), never through an argument.
  if secret=$("$aws_cli" ssm get-parameter --name "$parameter" --with-decryption \
    --query Parameter.Value --output text 2>"$handoff_error"); then
    break
  fi
  # Only the error's code is logged: the message may quote ARNs, never the value, but keep it short.
  reason=$(grep -oE 'ParameterNotFound|AccessDenied[A-Za-z]*|Throttling[A-Za-z]*|TooManyRequests[A-Za-z]*|Rate exceeded|Could not connect to the endpoint URL|timed out|[A-Z][A-Za-z]+Exception' "$handoff_error" | head -n 1 || true)
  case "$reason" in
    ParameterNotFound | AccessDenied* | Throttling* | TooManyRequests* | 'Rate exceeded' | 'Could not connect to the endpoint URL' | 'timed out') ;;
    *)
      rm -f "$handoff_error"
      die 5 "cannot read the JIT config from SSM parameter $parameter (${reason:-aws CLI failed}); not retried"
      ;;
  esac
  if ((SECONDS >= deadline)); then
    rm -f "$handoff_error"
    if [[ -n "$warm_idle" ]]; then
      # Not a failure: no job claimed this warm runner within its bound. Nothing was registered, and the
      # machine ends here (EC2: the EXIT trap shuts it down; CodeBuild: the build ends).
      log "warm runner ${JR_WARM_NAME:-$runner_name}: no hand-off within ${warm_idle} s ($tries tries); exiting without registering"
      exit 0
    fi
    die 5 "cannot read the JIT config from SSM parameter $parameter within ${handoff_wait} s ($tries tries, last: $reason)"
  fi
  ((tries == 1)) && log "waiting up to ${handoff_wait} s for the hand-off $parameter ($reason)"
  if [[ -n "$warm_idle" && "$warm_jitter" != 0 ]]; then
    # sleep adds its arguments up: the poll plus 0-<jitter> ms, so warm runners booted together spread out.
    sleep "$handoff_poll" "0.$(printf '%03d' $((RANDOM % warm_jitter)))"
  else
    sleep "$handoff_poll"
  fi
done
rm -f "$handoff_error"
[[ -n "$secret" && "$secret" != None ]] || die 5 "SSM parameter $parameter is empty"
log "read the hand-off $parameter (try $tries); it stays for the functions to delete"

# ── 5. run ──
cd "$runner_dir"

# Writes the files a JIT config carries, as `Runner.Listener run --jitconfig` would: the config is
# base64 of a JSON object whose keys are file names in the runner root and whose values are the base64
# contents. Flat JSON with base64 values, so a pattern reads it. .runner also gets DisableUpdate (the
# setting config.sh --disableupdate writes): the listener sends it with every message poll.
write_jit_files() {
  local json pair key value runner_json written=()
  json=$(printf '%s' "$secret" | base64 -d 2>/dev/null) || die 5 "SSM parameter $parameter does not hold a JIT config (not base64)"
  # Pairs come through a pipe (process substitution), not a here-string, which bash may put in a temp file.
  while IFS= read -r pair; do
    [[ -n "$pair" ]] || continue
    key=${pair#\"}
    key=${key%%\"*}
    value=${pair#*:}
    value=${value#*\"}
    value=${value%\"}
    value=${value//\\\//\/} # JSON may escape '/'; base64 has no other use for a backslash
    [[ "$key" =~ ^[.A-Za-z0-9_-]+$ && "$key" != . && "$key" != .. ]] ||
      die 5 "SSM parameter $parameter: the JIT config names a file outside the runner directory"
    [[ "$value" != *\\* ]] || die 5 "SSM parameter $parameter: the JIT config's $key is not base64"
    if [[ "$key" == .runner ]]; then
      runner_json=$(printf '%s' "$value" | base64 -d 2>/dev/null) || die 5 "SSM parameter $parameter: the JIT config's .runner is not base64"
      runner_json=$(disable_update "$runner_json")
      printf '%s' "$runner_json" >"$key"
    else
      printf '%s' "$value" | base64 -d >"$key" 2>/dev/null || die 5 "SSM parameter $parameter: the JIT config's $key is not base64"
    fi
    chmod 600 "$key"
    written+=("$key")
  done < <(printf '%s' "$json" | grep -oE '"[^"]+"[[:space:]]*:[[:space:]]*"[A-Za-z0-9+/=\\]*"' || true)
  [[ -f .runner && -f .credentials ]] ||
    die 5 "SSM parameter $parameter does not hold a JIT config (no .runner and .credentials in it)"
  log "wrote the JIT config's files (${written[*]}) for ${runner_name:-?}; self-update disabled in .runner"
}

# `.runner` with "DisableUpdate": true (Newtonsoft reads property names case-insensitively).
disable_update() {
  local text=$1
  shopt -s nocasematch
  if [[ "$text" =~ \"DisableUpdate\"[[:space:]]*:[[:space:]]*(true|false) ]]; then
    text=${text/"${BASH_REMATCH[0]}"/'"DisableUpdate": true'}
  elif [[ "$text" =~ ^[^{]*\{[[:space:]]*\} ]]; then
    text=${text/\{/'{"DisableUpdate": true'}
  else
    text=${text/\{/'{"DisableUpdate": true, '}
  fi
  shopt -u nocasematch
  printf '%s' "$text"
}

if [[ "$(id -u)" == 0 ]]; then export RUNNER_ALLOW_RUNASROOT=1; fi
# The runner and the workflow it runs get no AWS credentials from this environment, nor the hand-off's name.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
  AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN JR_PARAMETER
if [[ "$platform" == ec2 ]]; then
  # Nothing after this point needs the instance role: keep workflow code away from it. (The CloudWatch
  # agent, started by the user data before this script, already holds its credentials.)
  ip route add prohibit 169.254.169.254/32 2>/dev/null || log "warning: could not block the metadata service"
fi

rc=0
case "$mode" in
  jit)
    write_jit_files
    unset secret
    log "starting JIT runner ${runner_name:-?}"
    runner_started=true
    ./run.sh || rc=$?
    ;;
  regular)
    log "configuring regular runner $runner_name for $JR_URL"
    # The runner reads ACTIONS_RUNNER_INPUT_<ARG> like --<arg> and removes it from its environment;
    # the assignment prefix puts it in config.sh's environment alone, never in this shell's exports.
    ACTIONS_RUNNER_INPUT_TOKEN=$secret ./config.sh --unattended --url "$JR_URL" --name "$runner_name" \
      --labels "$JR_LABELS" --no-default-labels --disableupdate --work _work ||
      die 2 "config.sh failed for $runner_name"
    unset secret
    runner_started=true
    ./run.sh || rc=$?
    ;;
esac
log "runner exited with $rc"
exit "$rc"
