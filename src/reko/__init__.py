"""reko: compress image-to-image translation GANs by region-aware knowledge distillation."""

__version__ = "0.1.0"
