"""Composition root: settings, provider choice, the `reels` CLI (and later Ray start/join, autoscaling, metrics)."""
