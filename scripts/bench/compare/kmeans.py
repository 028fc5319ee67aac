"""Spherical k-means of one image's pixel embeddings with (y, x) location features and a regular-grid
initialisation (SegSort / HSG; REFERENCE.md section 4), in plain torch ops."""
import torch
import torch.nn.functional as F


def spherical_kmeans(emb, grid, iterations, location_weight, ignore=None):
    """emb [D, H, W] → (labels [H, W] long, -1 at ignored pixels; the number of iterations after which
    an iteration changed no label, or None: the loop runs all `iterations` either way)."""
    d, h, w = emb.shape
    gy, gx = grid
    ys = (torch.arange(h, dtype=emb.dtype) + 0.5) / h - 0.5
    xs = (torch.arange(w, dtype=emb.dtype) + 0.5) / w - 0.5
    loc = torch.stack(torch.meshgrid(ys, xs, indexing="ij")) * location_weight
    feats = F.normalize(torch.cat([emb, loc]).flatten(1).t().contiguous(), dim=1)  # [HW, D+2]
    labels = (torch.arange(h)[:, None] * gy // h * gx + torch.arange(w)[None] * gx // w).flatten()
    keep = None if ignore is None else ignore.flatten() == 0
    if keep is not None:
        feats, labels = feats[keep], labels[keep]
    stable = None
    for it in range(iterations):
        centroids = F.normalize(torch.zeros(gy * gx, d + 2, dtype=emb.dtype).index_add_(0, labels, feats), dim=1)
        new = (feats @ centroids.t()).argmax(1)
        if stable is None and torch.equal(new, labels):
            stable = it + 1
        labels = new
    if keep is not None:
        labels = torch.full((h * w,), -1, dtype=torch.long).masked_scatter_(keep, labels)
    return labels.view(h, w), stable
