"""Which floating-point format training computes in by default: bfloat16 where the hardware does it natively.

Under bfloat16 autocast the matrix products run in bfloat16 while the weights, the optimiser and the losses stay in
float32. Where the chip computes bfloat16 natively, a 2-core CPU with AVX512-BF16 runs the quickstart's teacher
about 1.5x as fast and its student about 1.3x (`benchmarks/precision_2cpu.json`), and the quickstart keeps its
accuracy (`benchmarks/quickstart_2cpu.json` against `quickstart_float32_2cpu.json`); where it does not, bfloat16 is
emulated and slower, so the default there is float32.
"""

import sys
from functools import cache
from pathlib import Path

import torch

# CPU flags (Linux's /proc/cpuinfo names) of native bfloat16 dot products: AVX512-BF16, and AMX's tile unit.
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags, read from /proc/cpuinfo; empty where there is none (macOS, Windows)."""
    if not sys.platform.startswith("linux"):
        return frozenset()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def native_bf16() -> bool:
    """Whether training here should default to bfloat16 autocast: a CUDA GPU that computes it natively, or, on a
    machine with no accelerator, a CPU with AVX512-BF16 or AMX. Other accelerators (MPS, XPU) keep float32."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if torch.accelerator.is_available():
        return False
    return bool(cpu_flags() & BF16_CPU_FLAGS)
