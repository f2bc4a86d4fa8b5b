"""PyTorch twins of the semantic-synthesis networks, for `npm run bench -- --torch`.

The networks of lib/segmentation/networks.ts (phi: the U-Net, phi': the dilated FCN) and of
lib/solvers/learned/spade.ts (the SPADE-style generator), layer for layer: same convolutions, same
padding (TensorFlow's 'same' pads a stride-2 convolution at the bottom/right only), same mirror
padding, normalisation and upsampling, so the parameter counts are equal and, given the same
weights, the outputs agree (test/bench_twins.test.ts checks both). Their training steps are the
ones the project runs: class-weighted cross-entropy over labelled pixels with Adam for a segmenter,
MSE with Adam and gradient-norm clipping for the generator.

  python3 twins_torch.py time  --net unet|dilated|spade --config JSON --batch B --height H --width W
                               [--threads N] [--iters 5] [--warmup 2] [--clock wall|cpu] [--clip C]
  python3 twins_torch.py apply --net ... --config JSON --weights FILE.json
      FILE.json: {"weights": {name: {"shape": [...], "data": [...]}}, "input": {"shape": [...], "data": [...]}}
      in the project's layouts (NHWC input; conv kernels [k, k, c_in, c_out], transposed [k, k, c_out, c_in]);
      prints {"params": n, "shape": [...], "data": [...]} of the output, NHWC.
  python3 twins_torch.py count --net ... --config JSON       prints {"params": n}

Each command prints one JSON line.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = 11  # CamVid classes; label 11 is Unlabelled (ignored)


def act(x, kind):
    if kind == "leaky":
        return F.leaky_relu(x, 0.1)
    if kind == "elu":
        return F.elu(x)
    return F.relu(x)


class Conv(nn.Module):
    """A convolution with TensorFlow's 'same' padding (stride 2: one row/column at the bottom/right)."""

    def __init__(self, ci, co, k, stride=1, dilation=1, transposed=False):
        super().__init__()
        self.k, self.stride, self.dilation, self.transposed = k, stride, dilation, transposed
        if transposed:
            self.conv = nn.ConvTranspose2d(ci, co, k, stride=stride)
        else:
            self.conv = nn.Conv2d(ci, co, k, stride=stride, dilation=dilation)

    def forward(self, x):
        if self.transposed:
            return self.conv(x)  # k = s = 2 in these nets: no overlap, no padding ('same' pads 0)
        h, w = x.shape[2], x.shape[3]
        ext = self.dilation * (self.k - 1) + 1

        def pads(n):
            out = -(-n // self.stride)
            total = max((out - 1) * self.stride + ext - n, 0)
            return total // 2, total - total // 2

        top, bottom = pads(h)
        left, right = pads(w)
        return self.conv(F.pad(x, (left, right, top, bottom)))


def pad_to_multiple(x, m):
    h, w = x.shape[2], x.shape[3]
    ph, pw = (m - h % m) % m, (m - w % m) % m
    return F.pad(x, (0, pw, 0, ph), mode="reflect") if ph or pw else x


class UNet(nn.Module):
    """phi: two 3x3 convs per level, 2x2 average pooling, a dilated bottleneck, 2x2 transposed convs up, skips."""

    def __init__(self, width=16, levels=3, bottleneckDilation=2, pool="avg", activation="relu", **_):
        super().__init__()
        self.levels, self.pool, self.activation = levels, pool, activation
        ch = lambda l: width * 2 ** l
        self.enc, c = nn.ModuleList(), 3
        for l in range(levels):
            self.enc.append(nn.ModuleList([Conv(c, ch(l), 3), Conv(ch(l), ch(l), 3)]))
            c = ch(l)
        d = bottleneckDilation
        self.mid = nn.ModuleList([Conv(c, ch(levels), 3, dilation=d), Conv(ch(levels), ch(levels), 3, dilation=d)])
        self.dec = nn.ModuleList()
        for l in range(levels - 1, -1, -1):
            self.dec.append(nn.ModuleList([Conv(ch(l + 1), ch(l), 2, stride=2, transposed=True), Conv(2 * ch(l), ch(l), 3), Conv(ch(l), ch(l), 3)]))
        self.head = Conv(ch(0), CLASSES, 1)

    def names(self):
        out = [(f"enc{l}/{s}", m) for l, pair in enumerate(self.enc) for s, m in zip("ab", pair)]
        out += [("mid/a", self.mid[0]), ("mid/b", self.mid[1])]
        out += [(f"dec{self.levels - 1 - i}/{s}", m) for i, trio in enumerate(self.dec) for s, m in zip(["up", "a", "b"], trio)]
        return out + [("head", self.head)]

    def forward(self, x):
        a = lambda t: act(t, self.activation)
        h, w = x.shape[2], x.shape[3]
        t = pad_to_multiple(x * 2 - 1, 2 ** self.levels)
        skips = []
        for ca, cb in self.enc:
            t = a(cb(a(ca(t))))
            skips.append(t)
            t = F.max_pool2d(t, 2) if self.pool == "max" else F.avg_pool2d(t, 2)
        t = a(self.mid[1](a(self.mid[0](t))))
        for up, ca, cb in self.dec:
            t = a(cb(a(ca(torch.cat([a(up(t)), skips.pop()], 1)))))
        return self.head(t)[:, :, :h, :w]


class Dilated(nn.Module):
    """phi': a stride-4 stem, residual dilated context blocks, 1x1 head, bilinear upsampling (half-pixel centres)."""

    def __init__(self, width=32, dilations=(1, 2, 4, 8, 16, 1), activation="relu", **_):
        super().__init__()
        self.activation = activation
        self.stem = nn.ModuleList([Conv(3, width, 3, stride=2), Conv(width, width, 3), Conv(width, 2 * width, 3, stride=2)])
        self.blocks = nn.ModuleList([Conv(2 * width, 2 * width, 3, dilation=d) for d in dilations])
        self.head = Conv(2 * width, CLASSES, 1)

    def names(self):
        return [(f"stem/{s}", m) for s, m in zip("abc", self.stem)] + [(f"context{i}", m) for i, m in enumerate(self.blocks)] + [("head", self.head)]

    def forward(self, x):
        a = lambda t: act(t, self.activation)
        h, w = x.shape[2], x.shape[3]
        t = pad_to_multiple(x * 2 - 1, 4)
        for conv in self.stem:
            t = a(conv(t))
        for conv in self.blocks:
            t = a(t + conv(t))
        coarse = self.head(t)
        out = F.interpolate(coarse, scale_factor=4, mode="bilinear", align_corners=False)
        return out[:, :, :h, :w]


class SpadeNorm(nn.Module):
    def __init__(self, classes, hidden, features):
        super().__init__()
        self.shared, self.gamma, self.beta = Conv(classes, hidden, 3), Conv(hidden, features, 3), Conv(hidden, features, 3)

    def forward(self, h, seg):
        a = F.relu(self.shared(seg))
        return F.instance_norm(h, eps=1e-5) * (1 + self.gamma(a)) + self.beta(a)


class Spade(nn.Module):
    """The SPADE-style generator: one-hot labels -> conv -> residual SPADE blocks -> SPADE, lrelu, conv, sigmoid."""

    def __init__(self, channels=3, classes=CLASSES, features=32, hidden=32, blocks=2, **_):
        super().__init__()
        self.classes = classes
        self.head = Conv(classes, features, 3)
        self.blocks = nn.ModuleList([nn.ModuleList([SpadeNorm(classes, hidden, features), Conv(features, features, 3), SpadeNorm(classes, hidden, features), Conv(features, features, 3)]) for _ in range(blocks)])
        self.out_norm = SpadeNorm(classes, hidden, features)
        self.out = Conv(features, channels, 3)

    def names(self):
        norm = lambda p, n: [(f"{p}shared", n.shared), (f"{p}gamma", n.gamma), (f"{p}beta", n.beta)]
        out = [("head", self.head)]
        for b, (n1, c1, n2, c2) in enumerate(self.blocks):
            out += norm(f"block{b}/n1/", n1) + [(f"block{b}/c1", c1)] + norm(f"block{b}/n2/", n2) + [(f"block{b}/c2", c2)]
        return out + norm("out/n/", self.out_norm) + [("out/conv", self.out)]

    def one_hot(self, labels):  # labels [b, h, w] int64; the ignore label gives zeros
        return F.one_hot(labels, self.classes + 1)[..., : self.classes].permute(0, 3, 1, 2).float()

    def forward(self, labels):
        seg = self.one_hot(labels)
        h = self.head(seg)
        for n1, c1, n2, c2 in self.blocks:
            h = h + c2(F.leaky_relu(n2(c1(F.leaky_relu(n1(h, seg), 0.2)), seg), 0.2))
        return torch.sigmoid(self.out(F.leaky_relu(self.out_norm(h, seg), 0.2)))


NETS = {"unet": UNet, "dilated": Dilated, "spade": Spade}


def build(net, config):
    if net not in NETS:
        sys.exit(f"twins_torch: unknown --net {net!r} (unet, dilated or spade)")
    return NETS[net](**{k: v for k, v in config.items() if k not in ("kind", "seed", "steps")})


def load_weights(model, weights):
    """Copies the project's weights (its names and NHWC layouts) into the twin."""
    for name, conv in model.names():
        for part, target in (("kernel", conv.conv.weight), ("bias", conv.conv.bias)):
            key = f"{name}/{part}"
            if key not in weights:
                sys.exit(f"twins_torch: weight {key} missing from the file")
            w = torch.tensor(weights[key]["data"], dtype=torch.float32).reshape(weights[key]["shape"])
            if part == "kernel":
                w = w.permute(3, 2, 0, 1)  # [k, k, ci, co] -> [co, ci, k, k]; transposed [k, k, co, ci] -> [ci, co, k, k]
            if tuple(w.shape) != tuple(target.shape):
                sys.exit(f"twins_torch: {key} has shape {list(w.shape)} after the layout change, the twin expects {list(target.shape)}")
            with torch.no_grad():
                target.copy_(w)


def command_apply(a):
    model = build(a.net, json.loads(a.config))
    with open(a.weights) as f:
        spec = json.load(f)
    load_weights(model, spec["weights"])
    x = torch.tensor(spec["input"]["data"], dtype=torch.float32).reshape(spec["input"]["shape"])
    with torch.no_grad():
        if a.net == "spade":
            out = model(x[..., 0].long())  # [b, h, w, 1] label values
        else:
            out = model(x.permute(0, 3, 1, 2))
    out = out.permute(0, 2, 3, 1).contiguous()
    print(json.dumps({"params": sum(p.numel() for p in model.parameters()), "shape": list(out.shape), "data": out.flatten().tolist()}))


def command_count(a):
    model = build(a.net, json.loads(a.config))
    print(json.dumps({"framework": "torch " + torch.__version__, "net": a.net, "params": sum(p.numel() for p in model.parameters())}))


def command_time(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = build(a.net, json.loads(a.config))
    opt = torch.optim.Adam(model.parameters(), a.lr)
    b, h, w = a.batch, a.height, a.width
    labels = torch.randint(0, CLASSES + 1, (b, h, w))  # includes the ignore label
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    if a.net == "spade":
        target = torch.rand(b, 3, h, w)
        run = lambda: model(labels)
        loss_of = lambda out: ((out - target) ** 2).mean()
    else:
        x = torch.rand(b, 3, h, w)
        weights = torch.rand(CLASSES) + 0.5  # class weights, as median-frequency balancing gives
        run = lambda: model(x)
        loss_of = lambda out: F.cross_entropy(out, labels, weight=weights, ignore_index=CLASSES)

    def step():
        opt.zero_grad()
        loss = loss_of(run())
        loss.backward()
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        return loss.item()

    def timed(fn):
        for _ in range(a.warmup):
            fn()
        v = []
        for _ in range(a.iters):
            t0 = clock()
            fn()
            v.append((clock() - t0) * 1000)
        return v

    train = timed(step)
    with torch.no_grad():
        fwd = timed(run)
    med = lambda v: sorted(v)[len(v) // 2]
    print(json.dumps({"framework": "torch " + torch.__version__, "threads": torch.get_num_threads(), "net": a.net,
                      "params": sum(p.numel() for p in model.parameters()), "batch": b, "height": h, "width": w,
                      "train_step_ms": med(train), "train_step_ms_mean": statistics.mean(train),
                      "forward_ms": med(fwd), "forward_ms_mean": statistics.mean(fwd)}))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("time", "apply", "count"):
        s = sub.add_parser(name)
        s.add_argument("--net", required=True)
        s.add_argument("--config", default="{}", help="the model block of the config, JSON")
        if name == "time":
            s.add_argument("--batch", type=int, required=True)
            s.add_argument("--height", type=int, required=True)
            s.add_argument("--width", type=int, required=True)
            s.add_argument("--threads", type=int, default=torch.get_num_threads())
            s.add_argument("--iters", type=int, default=5)
            s.add_argument("--warmup", type=int, default=2)
            s.add_argument("--clock", choices=["wall", "cpu"], default="wall")
            s.add_argument("--lr", type=float, default=1e-3)
            s.add_argument("--clip", type=float, default=0.0, help="gradient-norm clipping (0: none)")
        elif name == "apply":
            s.add_argument("--weights", required=True)
    a = p.parse_args()
    {"time": command_time, "apply": command_apply, "count": command_count}[a.command](a)


if __name__ == "__main__":
    main()
