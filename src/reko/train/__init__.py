"""Training: the loop (`trainer.Trainer`), what it trains (`trainable.Trainable`), teacher models, runs.

- `trainer`: the optimisation loop; it knows nothing of any distillation method or data mode.
- `trainable`: the contract between the loop and what it trains (a distiller, a pix2pix or CycleGAN model).
- `pix2pix`, `cyclegan`: teachers trained from scratch; `run.train_teacher` is their entry point.
- `sampler`, `state`, `distributed`, `images`, `pool`, `data`: the loop's helpers, one purpose each.
"""
