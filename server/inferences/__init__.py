"""Inference jobs: a real image through a model on phones, masks out, delegate-vs-CPU numerics."""
