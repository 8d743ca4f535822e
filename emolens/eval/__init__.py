"""Evaluation scripts of the measurement models (run as ``python -m emolens.eval.NAME``); never imported by the app."""
