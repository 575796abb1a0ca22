"""The contracts layer: what every process of the farm may import.

Settings, the shared vocabulary (delegates, states, roles), the agent↔server wire
formats, the statistics and the TFLite reader live here so that `server`, `worker`,
`device_agent` and `cli` never need to import each other's internals (the layers are
enforced by import-linter; see `[tool.importlinter]` in pyproject.toml).
"""
