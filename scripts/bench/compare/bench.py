"""The PyTorch side of `npm run bench compare`: runs one workload and prints one JSON line with its
mean time over `--repeats` runs after one warm-up run, and what it computed (shapes, cluster counts,
losses) for the clips4 side to check against.

    /usr/bin/python3 bench.py WORKLOAD --threads T --repeats N --sizes JSON [--data DIR]

WORKLOAD: probe | vit | dense | pspnet | train | kmeans. --data names a folder of raw tensors written
by scripts/bench/compare.ts (manifest.json: {name: {dtype, shape}}, NAME.bin: the values)."""
import argparse
import json
import os
import re
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from clip_vit import VisionTransformer  # noqa: E402
from kmeans import spherical_kmeans  # noqa: E402
from pspnet import PixelEmbedder  # noqa: E402
from train_step import ClipS4Trainer  # noqa: E402


def load_tensors(folder):
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    return {name: torch.from_numpy(np.fromfile(os.path.join(folder, name + ".bin"), dtype=m["dtype"]).reshape(m["shape"]))
            for name, m in manifest.items()}


def timed(fn, repeats):
    """One warm-up run, then `repeats` timed runs: (last result, seconds of each run)."""
    out = fn()
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        seconds.append(time.perf_counter() - t0)
    return out, seconds


def blas_library():
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    with open("/proc/self/maps") as f:
        libs = sorted(set(re.findall(r"(/\S*lib(?:openblas|blas|mkl|blis)\S*\.so\S*)", f.read())))
    return ", ".join(libs)


def inference(model, run, x, repeats):
    model.eval()
    with torch.no_grad():
        out, seconds = timed(lambda: run(x), repeats)
    return out, seconds, {"shape": list(out.shape)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("workload", choices=["probe", "vit", "dense", "pspnet", "train", "kmeans"])
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--sizes", default="{}")
    p.add_argument("--data")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    s = json.loads(a.sizes)
    info = {"workload": a.workload, "threads": torch.get_num_threads(), "torch": torch.__version__}
    if a.workload == "probe":
        print(json.dumps({**info, "blas": blas_library(), "openblasCoretype": os.environ.get("OPENBLAS_CORETYPE")}))
        return
    if a.workload in ("vit", "dense"):
        model = VisionTransformer(s["resolution"], s["patch"], s["width"], s["layers"], s["embed"])
        side = s["resolution"] if a.workload == "vit" else s["denseResolution"]
        x = torch.randn(s["batch"], 3, side, side)
        _, seconds, check = inference(model, model if a.workload == "vit" else model.dense, x, a.repeats)
    elif a.workload == "pspnet":
        model = PixelEmbedder(s["net"])
        out, seconds, check = inference(model, model, torch.randn(s["batch"], 3, s["resolution"], s["resolution"]), a.repeats)
        check["maxNormError"] = (out.norm(dim=1) - 1).abs().max().item()
    elif a.workload == "train":
        t = load_tensors(a.data)
        trainer = ClipS4Trainer(PixelEmbedder(s["net"]), t["known"], t["unknown"], s["train"])
        batch = (t["images"], t["regions"].long(), t["ignore"], t["clip"])
        check, seconds = timed(lambda: trainer.step(*batch), a.repeats)
    else:  # kmeans: a per-image loop over the batch
        t = load_tensors(a.data)
        emb = t["emb"]
        run = lambda: [spherical_kmeans(e, s["grid"], s["iterations"], s["locationWeight"]) for e in emb]  # noqa: E731
        with torch.no_grad():
            out, seconds = timed(run, a.repeats)
        labels = torch.stack([l for l, _ in out])
        check = {"clusters": [int(l.unique().numel()) for l in labels], "stableAfter": [st for _, st in out]}
        if "clips4Labels" in t:
            check["agreement"] = (labels == t["clips4Labels"].long()).double().mean().item()
    check["peakRssMB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**info, "seconds": sum(seconds) / len(seconds), "runs": seconds, "check": check}))


if __name__ == "__main__":
    main()
