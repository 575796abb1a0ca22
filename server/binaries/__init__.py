"""benchmark_model binaries: farm data, one row per file (sha256), one ABI each."""
