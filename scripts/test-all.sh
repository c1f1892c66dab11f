#!/usr/bin/env bash
# kosmi-relay's one test command (README "Tests"; .ci/run runs exactly this).
#
# On a fresh machine of this kind (Debian bookworm, root; any Node for npm) it first installs what
# is missing: the Debian packages the tests run for real (ngircd, InspIRCd + Atheme for SASL and
# NickServ, Chromium for the Kosmi browser login, docker-compose to validate docker-compose.yml,
# Docker's engine and debootstrap for the container test) and the npm dependencies (npm ci). Then
# it runs typecheck, lint, build, the whole vitest suite under Node 24 and again under Node 22 (the
# minimum, package.json engines), both from the npm registry's `node` package, and finally the
# container test (test/container) once: it builds the Dockerfile and runs the image.
# Every step runs even when an earlier one failed; a summary follows and the exit code is
# non-zero when anything failed.
#
# Usage: bash scripts/test-all.sh [--no-node22] [--no-container] [--no-lint] [-- vitest args, e.g. test/unit]
# Environment: TEST_STEP_TIMEOUT_MIN (default 35) bounds each vitest run, CONTAINER_TEST_TIMEOUT_MIN
# (default 40) the container test; REINSTALL_NPM=1 forces npm ci.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

# docker.io (engine and CLI) and debootstrap (the stand-in for the base image Docker Hub would
# serve) are for the container test.
APT_PACKAGES=(ngircd inspircd atheme-services chromium docker-compose openssl procps docker.io debootstrap)
# System services these packages ship. The tests start their own servers as child processes on
# free loopback ports and never rely on (nor should collide with) a system instance.
SYSTEM_SERVICES=(ngircd inspircd atheme-services)
STEP_TIMEOUT_MIN=${TEST_STEP_TIMEOUT_MIN:-35}
CONTAINER_TIMEOUT_MIN=${CONTAINER_TEST_TIMEOUT_MIN:-40}

RUN_NODE22=1
RUN_CONTAINER=1
RUN_LINT=1
VITEST_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-node22) RUN_NODE22=0 ;;
    --no-container) RUN_CONTAINER=0 ;;
    --no-lint) RUN_LINT=0 ;;
    --) shift; VITEST_ARGS=("$@"); break ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) VITEST_ARGS+=("$1") ;;
  esac
  shift
done

export CI=${CI:-}
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
export DEBIAN_FRONTEND=noninteractive

REPORT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kosmi-relay-test.XXXXXX")
STEP_NAMES=()
STEP_RESULTS=()
STEP_SECONDS=()
TESTS_PASSED=0
TESTS_FAILED=0
TESTS_SKIPPED=0
TEST_LINES=()

log() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

record() { # name result seconds
  STEP_NAMES+=("$1")
  STEP_RESULTS+=("$2")
  STEP_SECONDS+=("$3")
}

run_step() { # name command...
  local name=$1
  shift
  log "$name: $*"
  local start=$SECONDS
  "$@"
  local rc=$?
  local result=ok
  [ $rc -eq 0 ] || result="FAILED (exit $rc)"
  record "$name" "$result" $((SECONDS - start))
  return $rc
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -E "$@"
  else
    echo "need root (or sudo) to run: $*" >&2
    return 1
  fi
}

# --- Debian packages ---------------------------------------------------------------------------

missing_apt_packages() {
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$pkg"
  done
}

# Stops what the packages' maintainer scripts may have started despite policy-rc.d, by init script
# and by the PID files those daemons write; then disables them so a reboot does not bring them back.
stop_system_services() {
  local svc pidfile pid
  for svc in "${SYSTEM_SERVICES[@]}"; do
    if [ -x "/etc/init.d/$svc" ]; then
      as_root "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    fi
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      as_root systemctl disable --now "$svc" >/dev/null 2>&1 || true
    elif command -v update-rc.d >/dev/null 2>&1; then
      as_root update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
  done
  for pidfile in /run/ngircd/ngircd.pid /var/run/ngircd/ngircd.pid /run/inspircd/inspircd.pid \
    /var/run/inspircd/inspircd.pid /run/atheme/atheme.pid /var/run/atheme/atheme.pid \
    /var/lib/atheme/atheme.pid; do
    [ -r "$pidfile" ] || continue
    pid=$(tr -dc '0-9' <"$pidfile")
    [ -n "$pid" ] || continue
    if kill -0 "$pid" 2>/dev/null; then
      echo "stopping system daemon pid $pid ($pidfile)"
      as_root kill "$pid" 2>/dev/null || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && as_root kill -9 "$pid" 2>/dev/null
    fi
  done
  return 0
}

install_apt_packages() {
  local missing
  mapfile -t missing < <(missing_apt_packages)
  if [ ${#missing[@]} -eq 0 ]; then
    echo "Debian packages present: ${APT_PACKAGES[*]}"
    return 0
  fi
  echo "installing missing Debian packages: ${missing[*]}"
  # policy-rc.d exit 101 = "action forbidden": maintainer scripts must not start the daemons
  # (invoke-rc.d(8)). Keep an existing policy (Docker images ship one); remove only our own.
  local policy=/usr/sbin/policy-rc.d own_policy=0 rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# written by kosmi-relay scripts/test-all.sh during apt-get install\nexit 101\n' |
      as_root tee "$policy" >/dev/null && as_root chmod 0755 "$policy" && own_policy=1
  fi
  as_root apt-get update -q || rc=$?
  if [ $rc -eq 0 ]; then
    as_root apt-get install -y -q --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null || rc=$?
  fi
  [ $own_policy -eq 1 ] && as_root rm -f "$policy"
  stop_system_services
  if [ $rc -ne 0 ]; then
    echo "apt-get failed (exit $rc)" >&2
    return $rc
  fi
  mapfile -t missing < <(missing_apt_packages)
  if [ ${#missing[@]} -ne 0 ]; then
    echo "still missing after apt-get install: ${missing[*]}" >&2
    return 1
  fi
}

# --- npm dependencies --------------------------------------------------------------------------

# npm ci when node_modules is missing or was installed from another package-lock.json (a stamp
# holds the lock file's hash). The repo's .npmrc has ignore-scripts=true: no dependency runs an
# install script (matrix-bot-sdk's native crypto module would try a download that cannot work here).
install_npm_dependencies() {
  local stamp=node_modules/.kosmi-relay-lock.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "${REINSTALL_NPM:-0}" != 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "node_modules matches package-lock.json"
    return 0
  fi
  local ci_log="$REPORT_DIR/npm-ci.log"
  if ! npm ci --no-audit --no-fund </dev/null >"$ci_log" 2>&1; then
    grep -m 8 'npm error' "$ci_log" >&2
    return 1
  fi
  tail -n 3 "$ci_log"
  printf '%s\n' "$want" >"$stamp"
}

# --- Node 24 and Node 22 -------------------------------------------------------------------------

# Node 24 is the runtime (the Docker image's), Node 22.13 the minimum (package.json engines); the
# machine's own Node only runs npm. The registry's `node` package fetches its platform binary in
# an install script, which the repo's .npmrc (ignore-scripts=true) would skip: run npx from
# outside the repo and with --ignore-scripts=false, then check the binary's major version.
NODE24_BIN=
NODE22_BIN=
resolve_node() { # major
  local major=$1 bin version
  bin=$(cd / && npx -y --ignore-scripts=false "node@$major" -p 'process.execPath' </dev/null) || return $?
  bin=$(printf '%s\n' "$bin" | tail -n 1)
  [ -x "$bin" ] || { echo "npx node@$major gave no executable ($bin)" >&2; return 1; }
  version=$("$bin" -v) || return $?
  echo "Node $major binary: $bin ($version)"
  case "$version" in
    "v$major".*) printf -v "NODE${major}_BIN" '%s' "$bin" ;;
    *) echo "expected Node v$major.x from npx node@$major, got $version" >&2; return 1 ;;
  esac
}

# --- vitest ------------------------------------------------------------------------------------

run_vitest() { # label node-binary
  local label=$1 node_bin=$2 json="$REPORT_DIR/vitest-$1.json" rc
  local node_dir
  node_dir=$(dirname "$node_bin")
  echo "node: $node_bin ($("$node_bin" -v))"
  # The Node under test comes first on PATH too, so child processes that run `node` get it.
  PATH="$node_dir:$PATH" timeout --kill-after=30s "${STEP_TIMEOUT_MIN}m" \
    "$node_bin" node_modules/vitest/vitest.mjs run --reporter=default --reporter=json \
    --outputFile.json="$json" "${VITEST_ARGS[@]}" </dev/null
  rc=$?
  [ $rc -eq 124 ] && echo "vitest under $label timed out after ${STEP_TIMEOUT_MIN} min" >&2
  count_tests "$label" "$json" "$rc"
  return $rc
}

# Adds vitest's JSON totals to the summary. A run that failed without a failed test (a crash, an
# unhandled error, a timeout) counts as one failure so it cannot hide behind "0 failed".
count_tests() { # label json rc
  local label=$1 json=$2 rc=$3 counts passed=0 failed=0 skipped=0
  if [ -s "$json" ]; then
    counts=$(node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
      console.log(`${r.numPassedTests ?? 0} ${r.numFailedTests ?? 0} ${skipped}`);
    ' "$json" 2>/dev/null) || counts="0 0 0"
    read -r passed failed skipped <<<"$counts"
  fi
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  TESTS_PASSED=$((TESTS_PASSED + passed))
  TESTS_FAILED=$((TESTS_FAILED + failed))
  TESTS_SKIPPED=$((TESTS_SKIPPED + skipped))
  TEST_LINES+=("$label: $passed passed, $failed failed, $skipped skipped")
}

# Processes the tests start (ngircd, InspIRCd, Atheme, Chromium) must all be gone afterwards.
# Each run's processes inherit a marker variable, so those of other test runs on the same machine
# (another checkout, another session) are never mistaken for ours.
RUN_MARK="kosmi-relay-test-$$-$RANDOM"
export KOSMI_RELAY_TEST_RUN=$RUN_MARK
LEFTOVER_NAMES='^(ngircd|inspircd|atheme-services|chromium|chrome|chrome_crashpad|node)$'
check_leftovers() { # label
  local pid leftovers=()
  sleep 1
  for pid in $(pgrep "$LEFTOVER_NAMES" 2>/dev/null); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "KOSMI_RELAY_TEST_RUN=$RUN_MARK" || continue
    # Of node processes only the daemon the e2e tests start counts (test/helpers/daemon.ts).
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = node ]; then
      tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'dist/main.js' || continue
    fi
    leftovers+=("$(ps -o pid=,args= -p "$pid" 2>/dev/null | cut -c1-120)")
  done
  if [ ${#leftovers[@]} -gt 0 ]; then
    warn "processes still running after the tests under $1 (a test does not clean up):"
    printf '  %s\n' "${leftovers[@]}" >&2
    TEST_LINES+=("$1: ${#leftovers[@]} leftover process(es), see the warning above")
  fi
}

# --- container test -------------------------------------------------------------------------

# test/container builds the project's Dockerfile with Debian's Docker engine (started by the test
# when none runs) and runs the image: once per test command, under Node 24, with its own config.
run_container_test() {
  local json="$REPORT_DIR/vitest-container.json" rc node_dir
  node_dir=$(dirname "$NODE24_BIN")
  PATH="$node_dir:$PATH" timeout --kill-after=60s "${CONTAINER_TIMEOUT_MIN}m" \
    "$NODE24_BIN" node_modules/vitest/vitest.mjs run --config test/container/vitest.config.ts \
    --reporter=default --reporter=json --outputFile.json="$json" </dev/null
  rc=$?
  [ $rc -eq 124 ] && echo "container test timed out after ${CONTAINER_TIMEOUT_MIN} min" >&2
  count_tests container "$json" "$rc"
  return $rc
}

# --- main ---------------------------------------------------------------------------------------

summary() {
  local i failed_steps=0
  printf '\n\033[1m==> Summary\033[0m\n'
  for i in "${!STEP_NAMES[@]}"; do
    printf '  %-28s %-20s %5ss\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "${STEP_SECONDS[$i]}"
    [ "${STEP_RESULTS[$i]}" = ok ] || failed_steps=$((failed_steps + 1))
  done
  for i in "${TEST_LINES[@]}"; do printf '  %s\n' "$i"; done
  echo "  total time: ${SECONDS}s"
  if [ $failed_steps -eq 0 ]; then echo "  RESULT: all steps passed"; else echo "  RESULT: $failed_steps step(s) FAILED"; fi
  # Failed checks other than the test runs count as failures too, so the closing line never
  # reads "0 failed" for a red run.
  local other_failures=0
  for i in "${!STEP_NAMES[@]}"; do
    case "${STEP_NAMES[$i]}" in vitest*) ;; *) [ "${STEP_RESULTS[$i]}" = ok ] || other_failures=$((other_failures + 1)) ;; esac
  done
  echo
  echo "tests: $TESTS_PASSED passed, $((TESTS_FAILED + other_failures)) failed, $TESTS_SKIPPED skipped"
  return $failed_steps
}

trap 'rm -rf "$REPORT_DIR"' EXIT

echo "kosmi-relay test-all: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), node $(node -v 2>/dev/null || echo missing), CI=${CI:-}"

if ! run_step "Debian packages" install_apt_packages; then summary; exit 1; fi
if ! run_step "npm ci" install_npm_dependencies; then summary; exit 1; fi

run_step "Node 24 (npx node@24)" resolve_node 24
if [ $RUN_NODE22 -eq 1 ]; then run_step "Node 22 (npx node@22)" resolve_node 22; fi

run_step typecheck npm run --silent typecheck
if [ $RUN_LINT -eq 1 ]; then run_step lint npm run --silent lint; fi
run_step build npm run --silent build

vitest_under() { # major
  local major=$1 bin_var="NODE$1_BIN"
  local bin=${!bin_var}
  if [ -z "$bin" ]; then
    record "vitest (Node $major)" "FAILED (no Node $major)" 0
    TESTS_FAILED=$((TESTS_FAILED + 1))
    return
  fi
  run_step "vitest (Node $("$bin" -v))" run_vitest "node$major" "$bin"
  check_leftovers "node$major"
}
vitest_under 24
if [ $RUN_NODE22 -eq 1 ]; then vitest_under 22; fi

if [ $RUN_CONTAINER -eq 1 ]; then
  if [ -n "$NODE24_BIN" ]; then
    run_step "container test" run_container_test
  else
    record "container test" "FAILED (no Node 24)" 0
    TESTS_FAILED=$((TESTS_FAILED + 1))
  fi
fi

summary
exit $?
