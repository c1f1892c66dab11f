#!/usr/bin/env bash
# kosmi-relay's one test command (README "Tests"; .ci/run runs exactly this).
#
# On a fresh machine of this kind (Debian bookworm, Node 20, root) it first installs what is
# missing: the Debian packages the tests run for real (ngircd, InspIRCd + Atheme for SASL and
# NickServ, Chromium for the Kosmi browser login, docker-compose to validate docker-compose.yml)
# and the npm dependencies (npm ci). Then it runs typecheck, lint, build, the whole vitest suite
# under Node 20, and the suite again under Node 24 from the npm registry's `node` package.
# Every step runs even when an earlier one failed; a summary follows and the exit code is
# non-zero when anything failed.
#
# Usage: bash scripts/test-all.sh [--no-node24] [--no-lint] [-- vitest args, e.g. test/unit]
# Environment: TEST_STEP_TIMEOUT_MIN (default 35) bounds each vitest run; REINSTALL_NPM=1 forces npm ci.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

APT_PACKAGES=(ngircd inspircd atheme-services chromium docker-compose openssl procps)
# System services these packages ship. The tests start their own servers as child processes on
# free loopback ports and never rely on (nor should collide with) a system instance.
SYSTEM_SERVICES=(ngircd inspircd atheme-services)
NODE24_SPEC=node@24
STEP_TIMEOUT_MIN=${TEST_STEP_TIMEOUT_MIN:-35}

RUN_NODE24=1
RUN_LINT=1
VITEST_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-node24) RUN_NODE24=0 ;;
    --no-lint) RUN_LINT=0 ;;
    --) shift; VITEST_ARGS=("$@"); break ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
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
  if npm ci --no-audit --no-fund </dev/null >"$ci_log" 2>&1; then
    tail -n 3 "$ci_log"
  else
    grep -m 4 'npm error' "$ci_log" >&2
    # The registry these machines reach serves only the Linux builds of some platform packages
    # (rollup's @rollup/rollup-darwin-x64 & co. answer 404), so a lock file written here lacks
    # them and npm ci's strict lock check refuses it ("Missing: ... from lock file"). npm install
    # installs the same locked versions without that check.
    echo "npm ci refused the lock file; installing the locked versions with npm install instead"
    npm install --no-audit --no-fund </dev/null || return $?
    if command -v git >/dev/null 2>&1 && ! git diff --quiet -- package-lock.json 2>/dev/null; then
      warn "npm install changed package-lock.json (see git diff package-lock.json)"
    fi
  fi
  printf '%s\n' "$want" >"$stamp"
}

# --- Node 24 -----------------------------------------------------------------------------------

NODE24_BIN=
# The registry's `node` package fetches its platform binary package in an install script, which
# the repo's .npmrc (ignore-scripts=true) would skip: run npx from outside the repo and with
# --ignore-scripts=false, then check that the binary really is v24.
resolve_node24() {
  local bin version
  bin=$(cd / && npx -y --ignore-scripts=false "$NODE24_SPEC" -p 'process.execPath' </dev/null) || return $?
  bin=$(printf '%s\n' "$bin" | tail -n 1)
  [ -x "$bin" ] || { echo "npx $NODE24_SPEC gave no executable ($bin)" >&2; return 1; }
  version=$("$bin" -v) || return $?
  echo "Node 24 binary: $bin ($version)"
  case "$version" in
    v24.*) NODE24_BIN=$bin ;;
    *) echo "expected Node v24.x from npx $NODE24_SPEC, got $version" >&2; return 1 ;;
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

if [ $RUN_NODE24 -eq 1 ]; then run_step "Node 24 (npx $NODE24_SPEC)" resolve_node24; fi

run_step typecheck npm run --silent typecheck
if [ $RUN_LINT -eq 1 ]; then run_step lint npm run --silent lint; fi
run_step build npm run --silent build

SYSTEM_NODE=$(command -v node)
run_step "vitest (Node $("$SYSTEM_NODE" -v))" run_vitest "node$("$SYSTEM_NODE" -p 'process.versions.node.split(".")[0]')" "$SYSTEM_NODE"
check_leftovers "node$("$SYSTEM_NODE" -p 'process.versions.node.split(".")[0]')"
if [ $RUN_NODE24 -eq 1 ]; then
  if [ -n "$NODE24_BIN" ]; then
    run_step "vitest (Node $("$NODE24_BIN" -v))" run_vitest node24 "$NODE24_BIN"
    check_leftovers node24
  else
    record "vitest (Node 24)" "FAILED (no Node 24)" 0
    TESTS_FAILED=$((TESTS_FAILED + 1))
  fi
fi

summary
exit $?
