#!/usr/bin/env bash
# dlgrade's Gradescope setup (written by `dlgrade export gradescope`; see docs/GRADESCOPE.md).
#
# Gradescope runs this once, as root, in /autograder/source when it builds the autograder's image:
#   1. apt: Python @PYTHON_VERSION@ with venv (Ubuntu's universe, else the deadsnakes PPA) and bubblewrap;
#   2. a virtual environment with requirements.txt (pinned at export) and dlgrade's source from ./dlgrade;
#   3. the reference solution measured once into ./calibration/gradebook.sqlite (used when grading runs on
#      a machine like this one; another machine measures afresh).
# Environment:
#   DLGRADE_VENV=DIR              the virtual environment (default /opt/dlgrade-venv; run_autograder reads it too)
#   DLGRADE_SKIP_APT=1            install nothing with apt (an unprivileged trial: python@PYTHON_VERSION@ must be on PATH)
#   DLGRADE_SKIP_CALIBRATION=1    measure nothing now: each grading measures the reference itself
set -euo pipefail

python_version="@PYTHON_VERSION@"
python="python${python_version}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${DLGRADE_VENV:-/opt/dlgrade-venv}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() {
    printf '== dlgrade setup: %s\n' "$*"
}

install_apt() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq bubblewrap ca-certificates >/dev/null
    if apt-cache show "${python}-venv" >/dev/null 2>&1; then
        apt-get install -y -qq "${python}" "${python}-venv" >/dev/null
        return
    fi
    say "${python}-venv is not in this image's apt sources: adding the deadsnakes PPA"
    apt-get install -y -qq software-properties-common >/dev/null
    add-apt-repository -y ppa:deadsnakes/ppa
    apt-get update -qq
    apt-get install -y -qq "${python}" "${python}-venv" >/dev/null
}

if [ "${DLGRADE_SKIP_APT:-0}" = 1 ]; then
    say "DLGRADE_SKIP_APT=1: nothing installed with apt"
else
    say "installing ${python}, ${python}-venv and bubblewrap with apt"
    install_apt
fi

if ! command -v "${python}" >/dev/null 2>&1; then
    say "error: ${python} is not on PATH (the autograder was exported with Python ${python_version})" >&2
    exit 1
fi

say "virtual environment ${venv}"
if [ ! -x "${venv}/bin/python" ]; then
    "${python}" -m venv "${venv}"
fi
say "upgrading pip (a distribution's venv starts with its own, older one)"
"${venv}/bin/python" -m pip install -q --upgrade pip
say "installing requirements.txt (pinned when the autograder was exported)"
"${venv}/bin/python" -m pip install -q -r "${here}/requirements.txt"
say "installing dlgrade from ${here}/dlgrade"
"${venv}/bin/python" -m pip install -q --no-deps "${here}/dlgrade"

if [ "${DLGRADE_SKIP_CALIBRATION:-0}" = 1 ]; then
    say "DLGRADE_SKIP_CALIBRATION=1: the reference is measured when a submission is graded"
else
    say "measuring the reference solution on this machine"
    "${venv}/bin/python" -P -m autograder.gradescope calibrate --source "${here}"
fi
say "done"
