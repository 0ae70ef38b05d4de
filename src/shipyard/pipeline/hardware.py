"""Resolve `precision: auto` from the hardware Lightning will run on."""

from __future__ import annotations


def pick_precision(on_gpu: bool, bf16_supported: bool) -> str:
    """bf16 where the GPU has it (no loss scaling needed), fp16 on older GPUs, fp32 on CPU."""
    if not on_gpu:
        return "32-true"
    return "bf16-mixed" if bf16_supported else "16-mixed"


def resolve_precision(precision: str, accelerator: str) -> str:
    if precision != "auto":
        return precision
    import torch

    on_gpu = torch.cuda.is_available() and accelerator in ("auto", "gpu", "cuda")
    return pick_precision(on_gpu, on_gpu and torch.cuda.is_bf16_supported())
