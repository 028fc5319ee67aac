"""One CLIP-S4 training step (paper section 3; REFERENCE.md section 4) in plain PyTorch with autograd:
pixel embeddings → per-view spherical k-means, clusters split by region → segment embeddings;
L_t pixel-segment contrastive loss with a memory bank, L_e embedding consistency, L_s semantic
consistency over known + unknown prototypes, L_u for the unknown prototypes; SGD."""
import torch
import torch.nn.functional as F

from kmeans import spherical_kmeans


class ClipS4Trainer:
    def __init__(self, net, known, unknown, cfg):
        self.net = net
        self.cfg = cfg
        self.opt = torch.optim.SGD(net.parameters(), lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weightDecay"])
        self.known = F.normalize(known, dim=1)
        self.unknown = F.normalize(unknown, dim=1)
        self.bank = []  # segment embeddings of the previous batches (negatives only)

    def step(self, images, regions, ignore, clip):
        """images [2B,3,S,S] (view 1 of every image, then view 2), regions [2B,S,S] (shared by an image's
        two views), ignore [2B,S,S], clip [2B,E,s,s] CLIP dense features of each view."""
        c = self.cfg
        self.net.train()
        z = self.net(images)  # [V, D, h, w], unit length
        V, D, h, w = z.shape
        pairs = V // 2
        regions = F.interpolate(regions[:, None].float(), size=(h, w), mode="nearest")[:, 0].long()
        ignore = F.interpolate(ignore[:, None].float(), size=(h, w), mode="nearest")[:, 0] > 0
        if clip.shape[-2:] != (h, w):
            clip = F.interpolate(clip, size=(h, w), mode="bilinear", align_corners=False)
        clip = F.normalize(clip, dim=1)

        # Segments: k-means clusters of each view, split by region.
        with torch.no_grad():
            labels = torch.stack([spherical_kmeans(z[v], c["grid"], c["kmeansIterations"], c["locationWeight"], ignore[v])[0]
                                  for v in range(V)])
        valid = labels >= 0
        K, R = c["grid"][0] * c["grid"][1], int(regions.max()) + 1
        view = torch.arange(V).view(V, 1, 1)
        _, seg = torch.unique(((view * K + labels) * R + regions)[valid], return_inverse=True)
        P = int(seg.max()) + 1
        pixels = z.permute(0, 2, 3, 1)[valid]  # [N, D]
        v = F.normalize(torch.zeros(P, D).index_add(0, seg, pixels), dim=1)
        i_s = F.normalize(torch.zeros(P, clip.shape[1]).index_add(0, seg, clip.permute(0, 2, 3, 1)[valid]), dim=1)

        # L_t: positives are the other segments in the pixel's region of the same image (either view),
        # the pixel's own segment when there is none; negatives every other segment and the bank.
        group = ((view % pairs) * R + regions)[valid]
        seg_group = torch.zeros(P, dtype=torch.long).index_put_((seg,), group)
        bank = torch.cat(self.bank) if self.bank else z.new_zeros(0, D)
        logits = pixels @ torch.cat([v, bank]).t() * c["kappa"]  # [N, P+M]
        own = seg[:, None] == torch.arange(P)[None]
        others = (group[:, None] == seg_group[None]) & ~own
        positive = F.pad(torch.where(others.any(1, keepdim=True), others, own), (0, bank.shape[0]))
        lt = (torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(~positive, float("-inf")), 1)).mean()

        # L_e and L_s against CLIP's segment embeddings; pseudo-labels over known ∪ unknown prototypes.
        le = (1 - (v * i_s).sum(1)).mean()
        prototypes = torch.cat([self.known, self.unknown])
        y = (i_s @ prototypes.t()).argmax(1)
        ls = F.cross_entropy(v @ prototypes.t() / c["temperature"], y)
        loss = c["weightContrastive"] * lt + c["weightEmbedding"] * le + c["weightSemantic"] * ls

        # L_u moves each unknown prototype towards the CLIP embeddings of the segments assigned to it.
        unknown = self.unknown.clone().requires_grad_()
        assigned = y >= self.known.shape[0]
        lu = (1 - (F.normalize(unknown[y[assigned] - self.known.shape[0]], dim=1) * i_s[assigned]).sum(1)).mean() if assigned.any() else None

        self.opt.zero_grad()
        (loss if lu is None else loss + lu).backward()
        self.opt.step()
        if lu is not None:
            with torch.no_grad():
                self.unknown = F.normalize(self.unknown - c["unknownLr"] * unknown.grad, dim=1)
        self.bank = (self.bank + [v.detach()])[-c["bankBatches"]:] if c["bankBatches"] > 0 else []
        return {"loss": loss.item(), "contrastive": lt.item(), "embedding": le.item(), "semantic": ls.item(), "segments": P}
