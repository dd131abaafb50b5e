#!/usr/bin/env bash
# Placeholder until the filter lands (issue 3): replaced by the real build.
set -euo pipefail
echo "filter: no sources yet"
