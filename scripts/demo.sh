#!/usr/bin/env bash
# Fresh machine to a running service: install apiforge, generate the bookstore
# example, install it, migrate its database, run its own tests, then serve it.
#   scripts/demo.sh            generate, migrate, test, then serve on :8000
#   scripts/demo.sh --no-serve stop after the tests
# Set SPEC=examples/other.yaml to try another example.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
spec=${SPEC:-examples/bookstore.yaml}
demo=$repo/demo
python=${PYTHON:-python3}

[ -x .venv/bin/apiforge ] || { "$python" -m venv .venv && .venv/bin/pip install -q -e '.[test]'; }

rm -rf "$demo" && mkdir -p "$demo"
name=$(basename "$spec" .yaml)
.venv/bin/apiforge new-service "$name" --spec "$spec" --dir "$demo" --no-input
cd "$demo/$name"
"$python" -m venv .venv
.venv/bin/pip install -q -e '.[dev]'
.venv/bin/alembic upgrade head
.venv/bin/python -m pytest -q
package=$(sed -n 's/^packages = \["src\/\(.*\)"\]/\1/p' pyproject.toml)
if [ "${1:-}" != "--no-serve" ]; then
    echo "Serving http://127.0.0.1:8000/docs (Ctrl-C to stop)"
    exec .venv/bin/uvicorn "$package.main:app" --host 127.0.0.1 --port 8000
fi
