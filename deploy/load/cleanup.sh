# How deploy/loadtest makes sure nothing it started outlives it: the reference FastCGI processes (the
# C hello world processes that spawn-fcgi leaves running, and the PHP-FPM hello's master and pool
# processes: daemons in their own session, so neither the end of the script nor a Ctrl-C in its
# terminal reaches them) and the stack. Sourced by deploy/loadtest after lib.sh; the e2e tests
# source it alone (IntegrationTests/e2e/test_deploy_scripts.py).
#
# Uses HELLO_PIDS (spawn-fcgi's pid file), HELLO_BIN (this run's own copy of the hello binary, a
# path no other run or program uses), PHP_FPM_PID and PHP_FPM_BIN (php-fpm's pid file and this run's
# own copy of the php-fpm binary; both optional), STATE and REPO_ROOT.
# shellcheck shell=bash

# reference_pids PROGRAM [PIDFILE]: the running processes of one reference: the pids PIDFILE lists
# (one a line, and the last without a final newline, which a plain `while read` skips), and any
# other process running PROGRAM (spawn-fcgi may stop before it has written every pid; php-fpm's
# file names only its master, and its pool processes outlive a master killed by SIGKILL). Only a
# process whose executable is PROGRAM counts, so a pid that another program has been given since
# is never signalled.
reference_pids() {
    local program="$1" pidfile="${2:-}" pid exe
    [ -n "$program" ] || return 0
    {
        if [ -n "$pidfile" ] && [ -f "$pidfile" ]; then while read -r pid || [ -n "$pid" ]; do echo "$pid"; done < "$pidfile"; fi
        for exe in /proc/[0-9]*/exe; do
            if [ "$exe" -ef "$program" ]; then
                pid=${exe#/proc/}
                echo "${pid%/exe}"
            fi
        done
    } 2>/dev/null | sort -un | while read -r pid; do
        if [[ "$pid" =~ ^[0-9]+$ ]] && [ "/proc/$pid/exe" -ef "$program" ]; then echo "$pid"; fi
    done
}
hello_pids() { reference_pids "$HELLO_BIN" "$HELLO_PIDS"; }
php_pids() { reference_pids "${PHP_FPM_BIN:-}" "${PHP_FPM_PID:-}"; }

# stop_reference LIST: SIGTERM to every process LIST (hello_pids or php_pids) names, again to any
# that appears meanwhile (a php-fpm master may respawn a pool process before it sees its own
# SIGTERM), SIGKILL to any still there after 5 s. Fails if one survives.
stop_reference() {
    local list="$1" pids tries=0
    pids=$("$list")
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086  # one argument per pid
    kill $pids 2>/dev/null || true
    while pids=$("$list") && [ -n "$pids" ]; do
        tries=$((tries + 1))
        if [ "$tries" -ge 50 ]; then
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
            sleep 0.2
            break
        fi
        sleep 0.1
        # shellcheck disable=SC2086
        kill $pids 2>/dev/null || true
    done
    [ -z "$("$list")" ]
}
stop_hello() { stop_reference hello_pids; }
stop_php() { stop_reference php_pids; }

cleanup() {
    if [ -n "${CLEANUP_WATCHDOG:-}" ]; then kill "$CLEANUP_WATCHDOG" 2>/dev/null || true; fi
    stop_hello || printf 'warning: C hello processes would not stop: %s\n' "$(hello_pids | tr '\n' ' ')" >&2
    stop_php || printf 'warning: php-fpm processes would not stop: %s\n' "$(php_pids | tr '\n' ' ')" >&2
    "$REPO_ROOT/deploy/stack" stop --state "$STATE" >/dev/null 2>&1 || true
    # --store postgres: the run's own database, after the pool that used it.
    if [ -n "${LOADTEST_POSTGRES:-}" ] && [ -d "$LOADTEST_POSTGRES/data" ]; then
        "$REPO_ROOT/deploy/postgres-test-cluster" stop "$LOADTEST_POSTGRES" >/dev/null 2>&1 || true
    fi
}

# The EXIT trap runs on every way the script ends that a shell can see: success, `die`, a failed
# command under `set -e`, and SIGINT/SIGTERM/SIGHUP (trapped here so that the script then exits at
# once with the usual status, and the EXIT trap runs once). SIGKILL no shell sees: a watchdog in its
# own session (a kill of the script's process group does not reach it) checks every second that the
# script still runs, and cleans up once it does not; the script's own cleanup stops it first.
install_cleanup() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    HELLO_PIDS="$HELLO_PIDS" HELLO_BIN="$HELLO_BIN" PHP_FPM_PID="${PHP_FPM_PID:-}" PHP_FPM_BIN="${PHP_FPM_BIN:-}" \
        STATE="$STATE" REPO_ROOT="$REPO_ROOT" \
        setsid bash -c "$(declare -f reference_pids hello_pids php_pids stop_reference stop_hello stop_php); "'
            while kill -0 "$1" 2>/dev/null; do sleep 1; done
            stop_hello || true
            stop_php || true
            "$REPO_ROOT/deploy/stack" stop --state "$STATE" >/dev/null 2>&1 || true' \
        cleanup-watchdog "$$" </dev/null >/dev/null 2>&1 &
    CLEANUP_WATCHDOG=$!
}
