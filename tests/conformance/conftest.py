"""The vendored suite is run by runner.py in its own processes, never collected by pytest."""

collect_ignore_glob = ["vendor/*", "shim/*"]
