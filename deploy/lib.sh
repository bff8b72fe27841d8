# Shared by the deploy scripts: messages, paths, package installation.
# shellcheck shell=bash
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Messages go to stderr, in colour only when stderr is a terminal and NO_COLOR is unset (no-color.org).
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then
    COLOR_STEP=$'\033[1;34m' COLOR_WARN=$'\033[1;33m' COLOR_ERROR=$'\033[1;31m' COLOR_OFF=$'\033[0m'
else
    COLOR_STEP="" COLOR_WARN="" COLOR_ERROR="" COLOR_OFF=""
fi
step() { printf '%s==>%s %s\n' "$COLOR_STEP" "$COLOR_OFF" "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
warn() { printf '%swarning:%s %s\n' "$COLOR_WARN" "$COLOR_OFF" "$*" >&2; }
die()  { printf '%serror:%s %s\n' "$COLOR_ERROR" "$COLOR_OFF" "$*" >&2; exit 1; }

# The commit the binaries are built from: git describe of this tree ("-dirty" when tracked files
# have uncommitted changes); empty outside a git checkout, and the binary then says "unknown".
build_commit() { git -C "$REPO_ROOT" describe --always --dirty --abbrev=12 2>/dev/null || true; }

# swift build with its own progress lines and the compiler's errors on stderr; exits non-zero
# (through die) when the build fails. Never filtered, never `|| true`: a failed build must stop the
# caller, not leave it running an old binary. Not on a terminal (or with NO_COLOR) its output goes
# through a pipe, so swift prints plain [n/m] lines without colour or cursor movement.
swift_build() {
    local status=0
    # What `partnerships --version` names (Package.swift reads it; only the C shim is recompiled when
    # it changes). A caller may set it, e.g. when building from an exported tree.
    export PARTNERSHIPS_BUILD_COMMIT="${PARTNERSHIPS_BUILD_COMMIT:-$(build_commit)}"
    if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then
        swift build "$@" >&2 || status=$?
    else
        swift build "$@" 2>&1 | cat >&2 || status=$?
    fi
    [ "$status" = 0 ] || die "the build failed (swift build $*: exit status $status; the compiler's errors are above)"
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $* (install sudo or run as root)"; fi
}

APT_UPDATED=0
# Installs the Debian packages that are missing; does nothing when all are there.
ensure_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    step "Installing Debian packages: ${missing[*]}"
    if [ "$APT_UPDATED" = 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

ensure_swift() {
    command -v swift >/dev/null || die "Swift 6 is not on PATH. Install the Swift toolchain (swift.org) first; /opt/swift/usr/bin is where this project's machines keep it."
}

# The server's runtime and build needs: nginx, libfcgi (headers + pkg-config), TLS tooling, curl;
# libpq's headers too, since a plain `swift build` builds every target, the PostgreSQL client's among them.
ensure_stack_packages() {
    ensure_packages nginx libfcgi-dev libfcgi-bin libssl-dev zlib1g-dev libpq-dev pkg-config openssl curl \
        ca-certificates
}

# A Python virtualenv under .venv with the test/doc tools (pip, not apt, for these).
ensure_python_env() {
    local requirements="$1"
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then ensure_packages python3-venv; fi
    if [ ! -x "$REPO_ROOT/.venv/bin/python" ]; then
        step "Creating the Python environment in .venv"
        python3 -m venv "$REPO_ROOT/.venv"
    fi
    # One stamp per requirements file: deploy/up (docs) and deploy/test (tests) share the venv.
    local stamp; stamp="$REPO_ROOT/.venv/.requirements-$(echo "${requirements#"$REPO_ROOT"/}" | tr / _).sha"
    local wanted; wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
        step "Installing Python packages from ${requirements#"$REPO_ROOT"/}"
        "$REPO_ROOT/.venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2
        echo "$wanted" > "$stamp"
    fi
}
