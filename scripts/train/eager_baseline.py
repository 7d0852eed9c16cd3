#!/usr/bin/env python3
"""The baseline beside `ratkv-train bench` (issue item 8): the same Llama-style model trained in plain PyTorch
eager mode on the same card, so the trainer's tokens/s is read against what eager PyTorch does there.

Mirrors `ratkv-train bench --family llama --layers 8 --hidden 512 --vocab 8192 --seq-len 4096 --batch 16
--micro-batch 8`: 8 heads of 64, SwiGLU 1408, RMSNorm, RoPE theta 10000, tied embeddings, bf16 autocast over
fp32 master weights, SDPA (flash) causal attention, fused AdamW, gradient clipping at 1.0. A measuring tool
only: it runs where torch is installed (the GPU image), never as part of ratkv.

    python3 scripts/train/eager_baseline.py [--steps 10] [--warmup 3] [--profile]
Prints one JSON line; --profile also prints the top CUDA kernels of one step (torch.profiler).
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, d, heads, inter):
        super().__init__()
        self.heads = heads
        self.norm1 = torch.nn.RMSNorm(d, eps=1e-5)
        self.norm2 = torch.nn.RMSNorm(d, eps=1e-5)
        self.qkv = torch.nn.Linear(d, 3 * d, bias=False)
        self.o = torch.nn.Linear(d, d, bias=False)
        self.gate_up = torch.nn.Linear(d, 2 * inter, bias=False)
        self.down = torch.nn.Linear(inter, d, bias=False)

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, d // self.heads).unbind(2)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(a.transpose(1, 2).reshape(b, t, d))
        g, u = self.gate_up(self.norm2(x)).chunk(2, dim=-1)
        return x + self.down(F.silu(g) * u)


def rope(x, cos, sin):
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class Model(torch.nn.Module):
    def __init__(self, layers, d, heads, vocab, inter):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, d)
        self.blocks = torch.nn.ModuleList(Block(d, heads, inter) for _ in range(layers))
        self.norm = torch.nn.RMSNorm(d, eps=1e-5)
        self.heads = heads

    def forward(self, ids):
        t = ids.shape[1]
        hd = self.embed.weight.shape[1] // self.heads
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, device=ids.device, dtype=torch.float32) / hd))
        ang = torch.outer(torch.arange(t, device=ids.device, dtype=torch.float32), inv)
        cos, sin = torch.cat((ang, ang), -1).cos(), torch.cat((ang, ang), -1).sin()
        x = self.embed(ids)
        for blk in self.blocks:
            x = blk(x, cos, sin)
        return self.norm(x) @ self.embed.weight.t()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--micro-batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=4096)
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    torch.manual_seed(0)
    dev = "cuda"
    model = Model(8, 512, 8, 8192, 1408).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
    data = torch.randint(8192, (a.batch, a.seq_len + 1), device=dev)

    def step():
        opt.zero_grad(set_to_none=True)
        for m in range(0, a.batch, a.micro_batch):
            rows = data[m:m + a.micro_batch]
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits = model(rows[:, :-1])
            loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), rows[:, 1:].reshape(-1))
            (loss * (rows.shape[0] / a.batch)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(a.warmup):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / a.steps
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({"variant": "pytorch_eager_llama", "card": torch.cuda.get_device_name(),
                      "torch": torch.__version__, "parameters": params, "step_s": dt,
                      "tokens_per_s": a.batch * a.seq_len / dt}))
    if a.profile:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            step()
            torch.cuda.synchronize()
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=25, max_name_column_width=70))


if __name__ == "__main__":
    main()
