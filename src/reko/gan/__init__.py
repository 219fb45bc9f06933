"""The GAN task: what the trainer trains, and the losses every GAN model here shares.

- `trainable`: the contract between the loop (`reko.train.trainer.Trainer`) and what it trains.
- `losses`: adversarial losses (LSGAN, vanilla, hinge) of generators and discriminators.
- `pool`: CycleGAN's history of generated images.
- `pix2pix`, `cyclegan`: the two objectives and teacher models; distillers reuse the objectives.
- `build`: teacher models and discriminator specs from a `reko.config.TeacherConfig`.

It sits below `reko.distill` (distillers are `Trainable`s that add a method's term to these
objectives) and below `reko.train` (the loop).
"""
