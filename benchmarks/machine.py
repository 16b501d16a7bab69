"""The machine's limit: the CPU's instruction set, its peak arithmetic rate, and a BERT's arithmetic per token, so
that a speed can be read as a share of what the machine could do at best.

Peak (per second, all ``cores`` used): ``cores × GHz × lanes × 2 (a fused multiply-add is two operations) × FMA
units``. Lanes come from the widest vector unit the flags name (AVX-512: 16 fp32 lanes, AVX2: 8, else SSE's 4);
the number of FMA units per core is not in /proc/cpuinfo and is taken as 2, what server cores with AVX2 or
AVX-512 have since Haswell/Skylake-SP (some client parts have 1: the share is then understated by half). int8:
VNNI's ``vpdpbusd`` multiplies four int8 pairs per 32-bit lane (4× fp32); without VNNI, AVX2's
``vpmaddubsw``/``vpmaddwd`` pair gives about 2×; AMX (``amx_int8``) 1,024 int8 multiply-adds per cycle per core
(2,048 operations: Intel's optimisation manual). The frequency: cpufreq's ``cpuinfo_max_freq`` when the kernel
exposes it, else the ``cpu MHz`` /proc/cpuinfo reports (on a VM often the nominal one). Arithmetic per token of a
BERT encoder at sequence length ``n`` (Kaplan et al. 2020, C_forward ≈ 2N + 2·n_layer·n_ctx·d): per layer
``2·(4·d² + 2·d·d_ff)`` for the projections and the feed-forward, plus ``2·2·n·d`` for the attention scores and
their weighted sum.
"""

from __future__ import annotations

from pathlib import Path

WANTED = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_bf16", "amx_int8", "amx_tile")
FMA_UNITS = 2


def cpu_flags() -> list[str]:
    """The instruction-set flags that matter for int8 and bf16 inference, from /proc/cpuinfo."""
    try:
        flags = set(next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split(":")[1].split())
    except (OSError, StopIteration):
        return []
    return [flag for flag in WANTED if flag in flags]


def frequency_ghz() -> tuple[float | None, str]:
    """The core's frequency in GHz and where it was read."""
    maximum = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    try:
        return int(maximum.read_text()) / 1e6, "cpufreq cpuinfo_max_freq"
    except (OSError, ValueError):
        pass
    try:
        line = next(line for line in open("/proc/cpuinfo") if line.startswith("cpu MHz"))
        return float(line.split(":")[1]) / 1000, "/proc/cpuinfo cpu MHz"
    except (OSError, StopIteration, ValueError):
        return None, "unknown"


def peak(cores: int, flags: list[str] | None = None, ghz: float | None = None) -> dict:
    """The peak operations per second on ``cores`` cores: ``fp32`` and ``int8``, with the instruction set named
    (``isa``), the lanes, the frequency and how each was found; ``None`` rates when the frequency is unknown."""
    flags = cpu_flags() if flags is None else flags
    source = "given"
    if ghz is None:
        ghz, source = frequency_ghz()
    lanes, isa = (16, "AVX-512") if "avx512f" in flags else (8, "AVX2") if "avx2" in flags else (4, "SSE")
    fp32_per_cycle = lanes * 2 * FMA_UNITS
    if "amx_int8" in flags:
        int8_per_cycle, int8_isa = 2048, "AMX-INT8"
    elif "avx512_vnni" in flags or "avx_vnni" in flags:
        int8_per_cycle, int8_isa = fp32_per_cycle * 4, f"{isa} VNNI"
    else:
        int8_per_cycle, int8_isa = fp32_per_cycle * 2, f"{isa} (no VNNI)"
    scale = None if ghz is None else cores * ghz * 1e9
    return {"isa": isa, "int8_isa": int8_isa, "flags": flags, "cores": cores, "ghz": ghz, "ghz_from": source,
            "fp32_lanes": lanes, "fma_units_assumed": FMA_UNITS,
            "fp32_ops_per_s": None if scale is None else scale * fp32_per_cycle,
            "int8_ops_per_s": None if scale is None else scale * int8_per_cycle}


def flops_per_token(config, length: float) -> float:
    """Multiply-adds × 2 per token of a BERT encoder (``config``: ``num_hidden_layers``, ``hidden_size``,
    ``intermediate_size``) at sequence length ``length`` (module docstring)."""
    layers, hidden, inner = config.num_hidden_layers, config.hidden_size, config.intermediate_size
    return layers * (2 * (4 * hidden * hidden + 2 * hidden * inner) + 4 * length * hidden)
