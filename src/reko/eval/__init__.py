"""Measuring models: image-quality metrics, parameters, MACs, memory and latency.

Modules (import what you need; nothing heavy is imported here):

* ``inception`` / ``inception_arch``: the FID network from its three distributions.
* ``protocols``: ``clean`` and ``legacy`` preparation of images for it.
* ``features``, ``featureset``, ``frechet``, ``reference``, ``fid``: features, FID/KID, cached references.
* ``paired``: PSNR, SSIM, L1.
* ``drn``, ``cityscapes``, ``segmentation``: DRN-D-105 segmentation score (mIoU).
* ``macs``, ``latency``, ``memory``, ``cost``: parameters, MACs, latency, peak memory, cost tables.
* ``evaluate``, ``report``: ``reko eval`` and its tables / JSON.
"""
