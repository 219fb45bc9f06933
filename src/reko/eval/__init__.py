"""Measuring models: image-quality metrics, parameters, MACs, memory and latency."""
