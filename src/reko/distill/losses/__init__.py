"""Pure loss functions of distillation and GAN training: tensors in, tensors out, no state.

One file per family, so that methods can add theirs beside these without editing a shared file:

- `reko.distill.losses.gan`: adversarial losses (LSGAN, vanilla, hinge) for generator and discriminator.
- `reko.distill.losses.contrastive`: patch-wise InfoNCE (PatchNCE) between student and teacher embeddings.
- `reko.distill.losses.regions`: region scoring (where to look) and patch selection (which positions).

Import the module you need directly (``from reko.distill.losses.contrastive import patch_nce_loss``);
this package re-exports nothing, so adding a file never needs an edit here.
"""
