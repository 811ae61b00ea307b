"""Fake audit and diff documents (framework-free): a torch-like and a Flax-like audit of one MLP."""

from __future__ import annotations

from typing import Any

from initspec.conformance.audit import AuditResult, Finding
from initspec.conformance.audit_diff import diff_audits

VS_TORCH = {"family": "variance_scaling", "label": "variance_scaling(1/3, fan_in, uniform)", "std": (1 / 48) ** 0.5,
            "fan_text": "fan_in (fan_in from axis 1) = 16", "mode": "fan_in"}
VS_FLAX = {"family": "variance_scaling", "label": "variance_scaling(1, fan_in, truncated_normal)", "std": 0.25,
           "fan_text": "fan_in = 16", "mode": "fan_in"}
ZEROS = {"family": "constant", "label": "zeros", "std": 0.0, "fan_text": None}


def finding(path: str, canonical: str, idf: dict[str, Any], std: float, verdict: str = "matches",
            departures: tuple[str, ...] = (), shape: tuple[int, ...] = (32, 16)) -> Finding:
    exp = {"label": idf["label"], "source": "native.py <b>src</b>", "std": idf["std"]}
    return Finding(path, "Linear", "weight", list(shape), 32 * 16 * 8, dict(idf), {"mean": 0.0, "std": std},
                   exp, verdict, list(departures), [], 0.02, canonical)


def audits() -> tuple[AuditResult, AuditResult]:
    a = AuditResult("torch", "MLP", "deepcopy + reset_parameters()", 8, 1e-3, 1e-4, [
        finding("fc1.weight", "fc1.weight", VS_TORCH, 0.1445),
        finding("fc1.bias", "fc1.bias", VS_TORCH, 0.1440, shape=(32,)),
        finding("head.weight", "head.weight", VS_TORCH, 0.1471, "departure",
                ("std 1.0200x the expected <script>alert(1)</script>",)),
        finding("only_torch.weight", "only_torch.weight", VS_TORCH, 0.1443)])
    b = AuditResult("flax", "MLP", "module.init", 8, 1e-3, 1e-4, [
        finding("fc1.kernel", "fc1.weight", VS_FLAX, 0.2502, shape=(16, 32)),
        finding("fc1.bias", "fc1.bias", ZEROS, 0.0, shape=(32,)),
        finding("head.kernel", "head.weight", VS_FLAX, 0.2497, shape=(16, 32)),
        finding("only_flax.kernel", "only_flax.weight", VS_FLAX, 0.25)])
    return a, b


def documents() -> list[dict[str, Any]]:
    """``[diff, audit a, audit b]`` as ``initspec diff --html`` renders them."""
    a, b = audits()
    return [diff_audits(a, b, strict=False), a.to_dict(), b.to_dict()]
