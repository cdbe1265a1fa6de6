#!/usr/bin/env bash
# The test command (README, and .ci/run calls it). Runs every test: unit and integration tests
# through cargo-nextest (falls back to `cargo test` where it is not installed; nextest's time
# limits are in .config/nextest.toml), then the doc tests, which nextest does not run.
#
# Tests that need the real data sets read them from $CONAL_DATA_DIR (default ../shared/data);
# without them they print SKIPPED, unless CONAL_REQUIRE_DATA is set (CI), where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

# TensorBoard interoperability: install the `tensorboard` Python package into a throwaway venv
# so that a test can read our event files back with TensorBoard's own reader. Without Python
# or network the test says SKIPPED (CI sets CONAL_REQUIRE_TENSORBOARD=1, which fails it).
if [ -z "${CONAL_TENSORBOARD_PYTHON:-}" ] && command -v python3 >/dev/null 2>&1; then
    venv="$(mktemp -d)/tb-venv"
    trap 'rm -rf "$(dirname "$venv")"' EXIT
    if python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check tensorboard; then
        export CONAL_TENSORBOARD_PYTHON="$venv/bin/python"
    else
        echo "could not install tensorboard into a venv; its interoperability test will be skipped" >&2
    fi
fi

# With the GPU backend built in, so that tests/wgpu.rs checks it against the CPU (on a machine
# without a Vulkan adapter those tests say SKIPPED; CI installs Mesa's lavapipe and sets
# CONAL_REQUIRE_WGPU=1). The doc tests take the same features: one build of burn, not two.
features="cli,wgpu"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --features "$features" --all-targets --no-fail-fast "$@"
else
    echo "cargo-nextest not found; running cargo test (install it with: cargo install cargo-nextest)" >&2
    cargo test --features "$features" --all-targets --no-fail-fast "$@"
fi
cargo test --features "$features" --doc

# The Python package. Its build shares the Rust build directory (CARGO_TARGET_DIR) and so
# reuses the compiled dependencies; CI has CONAL_REQUIRE_PYTHON=1, which makes a missing
# Python or a failed install an error instead of a skip.
if ! command -v python3 >/dev/null 2>&1; then
    if [ -n "${CONAL_REQUIRE_PYTHON:-}" ]; then echo "python3 not found" >&2; exit 1; fi
    echo "SKIPPED: the Python package's tests (python3 not found)" >&2
    exit 0
fi
pydir="$(mktemp -d)"
trap 'rm -rf "$pydir" ${venv:+"$(dirname "$venv")"}' EXIT
python3 -m venv "$pydir/venv"
py="$pydir/venv/bin/python"
# pytest-timeout: every Python test has a time limit (python/pytest.ini); joblib comes with
# scikit-learn (the pickling test uses it).
"$py" -m pip install --quiet --disable-pip-version-check pytest pytest-timeout "crowd-kit==1.4.2" "scikit-learn<1.6"
"$py" -m pip install --quiet --disable-pip-version-check ./python
repo="$(pwd)"
CONAL_BIN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/conal"
export CONAL_BIN
# Run from outside the source tree, so that `import conal` finds the installed package.
(cd "$pydir" && "$py" -m pytest -q -p no:cacheprovider "$repo/python/tests")
