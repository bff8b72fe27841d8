# How deploy/loadtest makes sure nothing it started outlives it: the C hello world processes that
# spawn-fcgi leaves running (daemons in their own session, so neither the end of the script nor a
# Ctrl-C in its terminal reaches them) and the stack. Sourced by deploy/loadtest after lib.sh; the
# e2e tests source it alone (IntegrationTests/e2e/test_deploy_scripts.py).
#
# Uses HELLO_PIDS (spawn-fcgi's pid file), HELLO_BIN (this run's own copy of the hello binary, a
# path no other run or program uses), STATE and REPO_ROOT. The load test starts no php-fpm.
# shellcheck shell=bash

# The running hello processes: the pids spawn-fcgi wrote (one a line, and the last without a final
# newline, which a plain `while read` skips), and any other process running HELLO_BIN (spawn-fcgi
# may stop before it has written every pid). Only a process whose executable is HELLO_BIN counts,
# so a pid that another program has been given since is never signalled.
hello_pids() {
    local pid exe
    {
        if [ -f "$HELLO_PIDS" ]; then while read -r pid || [ -n "$pid" ]; do echo "$pid"; done < "$HELLO_PIDS"; fi
        for exe in /proc/[0-9]*/exe; do
            if [ "$exe" -ef "$HELLO_BIN" ]; then
                pid=${exe#/proc/}
                echo "${pid%/exe}"
            fi
        done
    } 2>/dev/null | sort -un | while read -r pid; do
        if [[ "$pid" =~ ^[0-9]+$ ]] && [ "/proc/$pid/exe" -ef "$HELLO_BIN" ]; then echo "$pid"; fi
    done
}

# SIGTERM to every hello process, SIGKILL to any still there after 5 s. Fails if one survives.
stop_hello() {
    local pids tries=0
    pids=$(hello_pids)
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086  # one argument per pid
    kill $pids 2>/dev/null || true
    while pids=$(hello_pids) && [ -n "$pids" ]; do
        tries=$((tries + 1))
        if [ "$tries" -ge 50 ]; then
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
            sleep 0.2
            break
        fi
        sleep 0.1
    done
    [ -z "$(hello_pids)" ]
}

cleanup() {
    if [ -n "${CLEANUP_WATCHDOG:-}" ]; then kill "$CLEANUP_WATCHDOG" 2>/dev/null || true; fi
    stop_hello || printf 'warning: C hello processes would not stop: %s\n' "$(hello_pids | tr '\n' ' ')" >&2
    "$REPO_ROOT/deploy/stack" stop --state "$STATE" >/dev/null 2>&1 || true
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
    HELLO_PIDS="$HELLO_PIDS" HELLO_BIN="$HELLO_BIN" STATE="$STATE" REPO_ROOT="$REPO_ROOT" \
        setsid bash -c "$(declare -f hello_pids stop_hello); "'
            while kill -0 "$1" 2>/dev/null; do sleep 1; done
            stop_hello || true
            "$REPO_ROOT/deploy/stack" stop --state "$STATE" >/dev/null 2>&1 || true' \
        cleanup-watchdog "$$" </dev/null >/dev/null 2>&1 &
    CLEANUP_WATCHDOG=$!
}
