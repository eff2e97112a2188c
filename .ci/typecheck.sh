#!/usr/bin/env bash
# Type checking with mypy (configuration: [tool.mypy] in the root pyproject.toml). Run from
# anywhere; needs the repository's .venv with mypy installed (requirements-test.txt has it).
#   1. proxx_core, strict: the library engines and plugins build on (it ships py.typed)
#   2. the other packages with mypy's default checks, in one run so that they see each other's
#      sources (proxx_fleet has no py.typed marker, and proxx_cli imports it)
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/mypy --strict proxx_core/proxx_core
.venv/bin/mypy proxx_cli/proxx_cli proxx_engine_ffmpeg/proxx_engine_ffmpeg \
  proxx_engine_resolve/proxx_engine_resolve proxx_fleet/proxx_fleet proxx_notify/proxx_notify \
  proxx_report/proxx_report proxx_dashboard/proxx_dashboard
