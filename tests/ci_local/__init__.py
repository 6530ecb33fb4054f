"""`make ci-local`: the GitHub Actions workflow run on this machine (tests/ci_local/runner.py)."""
