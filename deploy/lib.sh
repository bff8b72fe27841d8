# Shared by the deploy scripts: messages, paths, package installation.
# shellcheck shell=bash
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

step() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die()  { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

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

# The server's runtime and build needs: nginx, libfcgi (headers + pkg-config), TLS tooling, curl.
ensure_stack_packages() {
    ensure_packages nginx libfcgi-dev libfcgi-bin libssl-dev zlib1g-dev pkg-config openssl curl ca-certificates
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
