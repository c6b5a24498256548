#!/usr/bin/env bash
# Installs what the tests need and the machine lacks, from Debian's packages (run by `npm test`
# before the suite; a no-op when everything is there): Chromium for the browser tests
# (playwright-core drives /usr/bin/chromium; no browser is ever downloaded), R with the survival
# package for the statistics tests that compare with R. No test is skipped for a missing tool: if
# this cannot install one, it says so and fails.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v Rscript >/dev/null 2>&1 || need+=(r-base-core)
if command -v Rscript >/dev/null 2>&1; then
  Rscript -e 'quit(status = if (requireNamespace("survival", quietly = TRUE)) 0 else 1)' >/dev/null 2>&1 || need+=(r-cran-survival)
else
  need+=(r-cran-survival)
fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "test tools: installing ${need[*]} (Debian packages)" >&2
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else echo "test tools: ${need[*]} missing and not root (run as root, or: apt-get install ${need[*]})" >&2; exit 1; fi
else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "test tools: installed ${need[*]}" >&2
