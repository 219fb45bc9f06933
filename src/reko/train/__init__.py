"""Training: the loop (`trainer.Trainer`) and running it (`runner.run_trainer`); no GAN or method code.

- `trainer`: the optimisation loop; it knows nothing of any distillation method or data mode. What it
  trains is a `reko.gan.trainable.Trainable` (a distiller, a pix2pix or CycleGAN model).
- `runner`: a run folder, its config, processes and seeds around one `Trainer` (`reko.api` calls it).
- `sampler`, `state`, `distributed`, `images`, `data`: the loop's helpers, one purpose each.
"""
