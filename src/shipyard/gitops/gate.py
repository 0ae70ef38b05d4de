"""The quality gate: absolute limits, and no regression against a base beyond noise.

Pure: metrics and predictions in, a verdict out. `shipyard gate` does the I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from shipyard.config import GateConfig
from shipyard.pipeline.task import higher_is_better

Metric = Callable[[np.ndarray, np.ndarray], float]


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class Verdict:
    checks: list[Check] = field(default_factory=list)
    # What could not be compared and why, one line each (a base without metrics, base
    # predictions out of reach): the verdict stands on the checks that could run.
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [check.detail for check in self.checks if not check.passed]

    def summary(self) -> str:
        head = "PASSED" if self.passed else "FAILED: " + "; ".join(self.reasons)
        lines = [f"gate {head}"]
        lines += [f"  note {note}" for note in self.notes]
        lines += [f"  {'ok  ' if c.passed else 'FAIL'} {c.detail}" for c in self.checks]
        return "\n".join(lines)


def paired_bootstrap(
    metric: Metric,
    y: np.ndarray,
    head: np.ndarray,
    base: np.ndarray,
    samples: int,
    seed: int,
) -> np.ndarray:
    """metric(head) - metric(base) on `samples` resamples of the same test rows.

    Both models are scored on the same resampled rows, so row difficulty cancels out:
    the spread left is the uncertainty of the difference itself.
    """
    rng = np.random.default_rng(seed)
    deltas = np.full(samples, np.nan)
    for i in range(samples):
        rows = rng.integers(0, len(y), len(y))
        try:
            deltas[i] = metric(y[rows], head[rows]) - metric(y[rows], base[rows])
        except ValueError:  # a resample without some class: ROC AUC is undefined there
            continue
    return deltas[~np.isnan(deltas)]


def judge(
    cfg: GateConfig,
    head: dict[str, float],
    base: dict[str, float] | None,
    main_deltas: np.ndarray | None = None,
) -> Verdict:
    """Check `head` against the limits, and against `base` when there is one.

    `main_deltas` (head - base from `paired_bootstrap`) decides the main metric's
    comparison; without them (test rows not comparable) its tolerance does. Which way
    is better is the metric's own (its task says); a metric no task has is a ConfigError.
    """
    verdict = Verdict()
    for name, rule in cfg.rules.items():
        sign = 1 if higher_is_better(name) else -1
        if name not in head:
            verdict.checks.append(Check(name, False, f"{name}: missing from the metrics"))
            continue
        value = head[name]
        if rule.limit is not None:
            ok = sign * (value - rule.limit) >= 0
            bound = ">=" if sign > 0 else "<="
            verdict.checks.append(
                Check(name, ok, f"{name} {value:.4f} (limit {bound} {rule.limit:g})")
            )
        if base is None or name not in base:
            continue
        delta = value - base[name]
        if name == cfg.main_metric and main_deltas is not None and len(main_deltas):
            alpha = 1 - cfg.bootstrap.confidence
            low, high = np.quantile(main_deltas, [alpha / 2, 1 - alpha / 2])
            worse_for_sure = (high < 0) if sign > 0 else (low > 0)
            verdict.checks.append(
                Check(
                    name,
                    not worse_for_sure,
                    f"{name} vs base {delta:+.4f} ({cfg.bootstrap.confidence:.0%} CI "
                    f"{low:+.4f}..{high:+.4f}, paired bootstrap): "
                    + (
                        ("a drop beyond noise" if sign > 0 else "a rise beyond noise")
                        if worse_for_sure
                        else "no worsening beyond noise"
                    ),
                )
            )
        else:
            regression = -sign * delta
            ok = regression <= rule.tolerance
            verdict.checks.append(
                Check(
                    name,
                    ok,
                    f"{name} vs base {delta:+.4f} (tolerated regression {rule.tolerance:g})",
                )
            )
    return verdict
