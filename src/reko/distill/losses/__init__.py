"""Pure loss functions of distillation: tensors in, tensors out, no state (GAN losses: `reko.gan.losses`).

One file per family, so that methods can add theirs beside these without editing a shared file:

- `reko.distill.losses.kd`: the baselines' feature and output terms (attention, similarity, wavelet, MSE).
- `reko.distill.losses.contrastive`: patch-wise InfoNCE (PatchNCE) between student and teacher embeddings.
- `reko.distill.losses.regions`: region scoring (where to look) and patch selection (which positions).

Import the module you need directly (``from reko.distill.losses.contrastive import patch_nce_loss``);
this package re-exports nothing, so adding a file never needs an edit here.
"""
