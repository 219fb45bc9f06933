"""A perceptual feature space: the shift-tolerant LPIPS networks (Ghildyal & Liu, ECCV 2022).

- `reko.perceptual.network`: the architectures (VGG16 and AlexNet with blur-pooling), in plain torch.
- `reko.perceptual.weights`: reads their weights from the ``stlpips-pytorch`` wheel's files.
- `reko.perceptual.distance`: the LPIPS distance (calibrated linear heads) for evaluation.

The perceptual distillation term that uses these features is `reko.distill.losses.perceptual`.
"""
