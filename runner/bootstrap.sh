#!/usr/bin/env bash
# jit-runners bootstrap: turns a fresh CodeBuild build or EC2 instance into ONE ephemeral GitHub
# Actions runner.
#
#   1. read what to run (JR_* below: build environment on CodeBuild, instance tags via IMDSv2 on EC2)
#   2. download the pinned actions-runner tarball for this architecture
#   3. verify its SHA-256 against checksums.json (mismatch or missing entry: refuse)
#   4. read the JIT config (or registration token) from its SSM SecureString and delete the parameter
#   5. jit:     ./run.sh --jitconfig <config>                 (one job, then the runner exits)
#      regular: ./config.sh --unattended ... --disableupdate && ./run.sh   (metadata workaround)
#   6. EC2: shut down (the launch template terminates the instance on shutdown)
#
# Inputs (never secrets: the secret only ever lives in SSM and in this process' memory):
#   JR_MODE            jit | regular
#   JR_PARAMETER       SSM parameter name holding the JIT config / registration token
#   JR_RUNNER_NAME     runner name (logs; config.sh --name in regular mode)
#   JR_RUNNER_VERSION  exact actions/runner version, e.g. 2.330.0
#   JR_URL, JR_LABELS  regular mode: config.sh --url / --labels
# Knobs (defaults are for AWS; tests override them):
#   JR_PLATFORM        codebuild | ec2 | other   (default: codebuild when CODEBUILD_BUILD_ID is set, else other)
#   JR_DOWNLOAD_BASE_URL  default https://github.com/actions/runner/releases/download
#   JR_CHECKSUMS_FILE  default: checksums.json next to this script
#   JR_AWS             AWS CLI command (default aws)
#   JR_RUNNER_DIR      where the runner is unpacked (default: a fresh temporary directory)
#   JR_ARCH            x64 | arm64 (default: from uname -m)
#   JR_IMDS_URL        default http://169.254.169.254
#   JR_LOG_FILE        also append all output to this file (EC2: shipped to CloudWatch Logs by the agent)
#
# Exit codes: 2 bad input, 3 no checksum for the tarball, 4 checksum mismatch, 5 hand-off unreadable,
# 6 download failed, otherwise the runner's own exit code.

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

# ── EC2: whatever happens below, the instance must not outlive its one runner ──
if [[ "$platform" == ec2 ]]; then
  # shellcheck disable=SC2317  # invoked by the EXIT trap
  shutdown_on_exit() {
    local rc=$?
    log "runner finished (exit $rc); shutting down"
    shutdown -h now || poweroff || true
  }
  trap shutdown_on_exit EXIT
fi

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
  for name in JR_MODE JR_PARAMETER JR_RUNNER_NAME JR_RUNNER_VERSION JR_URL JR_LABELS; do
    if [[ -z "${!name:-}" ]]; then
      value=$(imds_tag "$name")
      printf -v "$name" '%s' "$value"
    fi
  done
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

log "runner ${runner_name:-?} mode=$mode version=$version arch=$arch platform=$platform"

# ── 2 + 3. download and verify the pinned tarball ──
tarball="actions-runner-linux-${arch}-${version}.tar.gz"
[[ -r "$checksums_file" ]] || die 3 "checksum table $checksums_file is missing; refusing to run an unverified runner"
key_re=${tarball//./\\.}
expected=$(sed -n "s/.*\"${key_re}\"[[:space:]]*:[[:space:]]*\"\([0-9a-fA-F]\{64\}\)\".*/\1/p" "$checksums_file" | head -n 1)
[[ -n "$expected" ]] || die 3 "no SHA-256 for $tarball in $checksums_file; add it from the release notes before pinning $version"

runner_dir=${JR_RUNNER_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/actions-runner.XXXXXX")}
mkdir -p "$runner_dir"
download="$runner_dir.download.tar.gz"
url="$download_base/v$version/$tarball"
log "downloading $url"
curl -fsSL --retry 3 --retry-delay 2 -o "$download" "$url" || die 6 "download of $url failed"
actual=$(sha256sum "$download" | cut -d ' ' -f 1)
if [[ "${actual,,}" != "${expected,,}" ]]; then
  rm -f "$download"
  die 4 "SHA-256 mismatch for $tarball: expected $expected, got $actual; refusing to run it"
fi
log "verified $tarball sha256=$actual"
tar -xzf "$download" -C "$runner_dir"
rm -f "$download"

# ── 4. the secret, out of band ──
secret=$("$aws_cli" ssm get-parameter --name "$parameter" --with-decryption --query Parameter.Value --output text 2>/dev/null) ||
  die 5 "cannot read the JIT config from SSM parameter $parameter (already used, swept, or not readable by this role)"
[[ -n "$secret" && "$secret" != None ]] || die 5 "SSM parameter $parameter is empty"
# Delete right after reading: the hand-off is single use, and a leftover would only be a liability.
"$aws_cli" ssm delete-parameter --name "$parameter" >/dev/null 2>&1 ||
  log "warning: could not delete $parameter; the reconciler will sweep it"

# ── 5. run ──
cd "$runner_dir"
if [[ "$(id -u)" == 0 ]]; then export RUNNER_ALLOW_RUNASROOT=1; fi
# The runner and the workflow it runs get no AWS credentials from this environment.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
  AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN
if [[ "$platform" == ec2 ]]; then
  # Nothing after this point needs the instance role: keep workflow code away from it. (The CloudWatch
  # agent, started by the user data before this script, already holds its credentials.)
  ip route add prohibit 169.254.169.254/32 2>/dev/null || log "warning: could not block the metadata service"
fi

rc=0
case "$mode" in
  jit)
    log "starting JIT runner ${runner_name:-?}"
    ./run.sh --jitconfig "$secret" || rc=$?
    ;;
  regular)
    log "configuring regular runner $runner_name for $JR_URL"
    ./config.sh --unattended --url "$JR_URL" --token "$secret" --name "$runner_name" \
      --labels "$JR_LABELS" --no-default-labels --disableupdate --work _work ||
      die 2 "config.sh failed for $runner_name"
    unset secret
    ./run.sh || rc=$?
    ;;
esac
unset secret
log "runner exited with $rc"
exit "$rc"
