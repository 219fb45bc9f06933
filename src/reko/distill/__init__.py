"""Knowledge distillation: feature taps, pure loss functions, and one file per method."""
