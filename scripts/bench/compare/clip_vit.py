"""OpenAI CLIP's vision transformer (clip/model.py layout: sequence-first tokens, nn.MultiheadAttention,
QuickGELU MLP, pre-norm blocks) and the MaskCLIP dense path, written for the PyTorch side of
`npm run bench compare`. Random weights with OpenAI's initialisation scales."""
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, 4 * width)),
            ("gelu", QuickGELU()),
            ("c_proj", nn.Linear(4 * width, width)),
        ]))

    def forward(self, x):  # [L, N, D]
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, resolution, patch, width, layers, embed):
        super().__init__()
        grid = resolution // patch
        scale = width ** -0.5
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, width // 64)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, embed))
        proj_std = scale * (2 * layers) ** -0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=scale)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=(2 * width) ** -0.5)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)

    def tokens(self, images):
        """Patch tokens with the class token and positions (the grid part resized bicubically when the
        image's grid differs from the trained one), after ln_pre: [L, N, D] and the grid size."""
        x = self.conv1(images)
        n, d, gh, gw = x.shape
        x = x.flatten(2).transpose(1, 2)
        pos = self.positional_embedding
        g = round((pos.shape[0] - 1) ** 0.5)
        if (gh, gw) != (g, g):
            grid = pos[1:].reshape(1, g, g, d).permute(0, 3, 1, 2)
            grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
            pos = torch.cat([pos[:1], grid.permute(0, 2, 3, 1).reshape(gh * gw, d)])
        x = torch.cat([self.class_embedding.expand(n, 1, d), x], dim=1) + pos
        return self.ln_pre(x).permute(1, 0, 2), gh, gw

    def forward(self, images):
        x, _, _ = self.tokens(images)
        x = self.transformer(x)
        return self.ln_post(x[0]) @ self.proj

    def dense(self, images):
        """MaskCLIP: the last block's value path (no attention mixing), out-projection, residual and
        MLP, then ln_post and proj on the patch tokens → [N, E, gh, gw]."""
        x, gh, gw = self.tokens(images)
        blocks = self.transformer.resblocks
        x = blocks[:-1](x)
        last = blocks[-1]
        d = x.shape[-1]
        v = F.linear(last.ln_1(x), last.attn.in_proj_weight[2 * d:], last.attn.in_proj_bias[2 * d:])
        v = last.attn.out_proj(v) + x
        v = v + last.mlp(last.ln_2(v))
        dense = self.ln_post(v[1:]) @ self.proj  # [hw, N, E]
        return dense.permute(1, 2, 0).reshape(x.shape[1], -1, gh, gw)
