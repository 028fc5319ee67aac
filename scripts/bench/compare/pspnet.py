"""A torchvision-layout ResNet (Bottleneck blocks, strides of layer2-4 optionally replaced by dilation)
and a PSPNet head producing L2-normalised pixel embeddings: the PyTorch side of `npm run bench compare`
for clips4's PixelEmbedder (native/src/net_model.cc)."""
import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(cin, cout, kernel, stride=1, dilation=1):
    pad = dilation * (kernel // 2)
    return [nn.Conv2d(cin, cout, kernel, stride, pad, dilation, bias=False), nn.BatchNorm2d(cout)]


class Bottleneck(nn.Module):
    def __init__(self, cin, inner, cout, stride, dilation):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(cin, inner, 1)
        self.conv2, self.bn2 = conv_bn(inner, inner, 3, stride, dilation)
        self.conv3, self.bn3 = conv_bn(inner, cout, 1)
        self.downsample = nn.Sequential(*conv_bn(cin, cout, 1, stride)) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """torchvision's ResNet trunk: 7x7 stem, max-pool, four layers; `dilation` = replace_stride_with_dilation."""

    def __init__(self, layers, inner, out, stem, dilation):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(3, stem, 7, 2)
        cin, rate = stem, 1
        for i in range(4):
            stride, previous = (1 if i == 0 else 2), rate
            if i > 0 and dilation[i - 1]:
                rate, stride = rate * stride, 1
            blocks = [Bottleneck(cin, inner[i], out[i], stride, previous)]
            blocks += [Bottleneck(out[i], inner[i], out[i], 1, rate) for _ in range(1, layers[i])]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            cin = out[i]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class PSPHead(nn.Module):
    """Pyramid pooling (1x1 conv + BN + ReLU per bin, bilinear upsampling, concatenated with the input),
    3x3 conv + BN + ReLU, 1x1 conv to the embedding."""

    def __init__(self, cin, channels, bins, embed):
        super().__init__()
        self.bins = bins
        self.stages = nn.ModuleList(nn.Sequential(*conv_bn(cin, channels, 1), nn.ReLU()) for _ in bins)
        self.bottleneck = nn.Sequential(*conv_bn(cin + channels * len(bins), channels, 3), nn.ReLU())
        self.classifier = nn.Conv2d(channels, embed, 1)

    def forward(self, x):
        size = x.shape[-2:]
        parts = [x] + [F.interpolate(stage(F.adaptive_avg_pool2d(x, b)), size, mode="bilinear", align_corners=False)
                       for b, stage in zip(self.bins, self.stages)]
        return self.classifier(self.bottleneck(torch.cat(parts, 1)))


class PixelEmbedder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.backbone = ResNet(c["layers"], c["inner"], c["out"], c["stem"], c["dilation"])
        self.head = PSPHead(c["out"][3], c["headChannels"], c["bins"], c["embedDim"])

    def forward(self, images):
        return F.normalize(self.head(self.backbone(images)), dim=1)
