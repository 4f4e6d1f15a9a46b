"""Figures, percentiles and the results table (pure helpers, unit-tested)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return math.nan
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0-100, not {p}")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(ours: float | None, baseline: float | None) -> float | None:
    if ours is None or baseline is None or baseline == 0 or math.isnan(baseline):
        return None
    return ours / baseline


@dataclass
class Figure:
    """One line of the table: our figure, the baseline measured in the same run, the target.

    `target` is checked against `ours` (kind "min" or "max") or, when `target_ratio` is set,
    the ratio is checked too. `met` is None when there is no target.
    """

    name: str
    unit: str
    ours: float | None
    baseline: float | None = None
    baseline_name: str = ""
    target: float | None = None
    kind: str = "min"  # "min": ours >= target; "max": ours <= target
    target_ratio: float | None = None  # ratio >= target_ratio ("min") or <= ("max")
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return ratio(self.ours, self.baseline)

    @property
    def met(self) -> bool | None:
        checks: list[bool] = []
        if self.target is not None and self.ours is not None:
            checks.append(_within(self.ours, self.target, self.kind))
        if self.target_ratio is not None and self.ratio is not None:
            checks.append(_within(self.ratio, self.target_ratio, self.kind))
        if self.ours is None:
            return None  # not measured (e.g. a run too short for it): neither met nor missed
        return all(checks) if checks else None

    def target_text(self) -> str:
        sign = "≥" if self.kind == "min" else "≤"
        parts = []
        if self.target is not None:
            parts.append(f"{sign} {number(self.target)} {self.unit}".strip())
        if self.target_ratio is not None:
            parts.append(f"ratio {sign} {self.target_ratio:g}")
        return ", ".join(parts) or "-"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data |= {"ratio": self.ratio, "met": self.met}
        return data


def _within(value: float, bound: float, kind: str) -> bool:
    return value >= bound if kind == "min" else value <= bound


def number(value: float | None) -> str:
    """Human figures: 3 significant digits below 100, thousands separators above."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _cells(figure: Figure) -> list[str]:
    met = {True: "yes", False: "NO", None: "-"}[figure.met]
    if figure.ours is None and figure.target_text() != "-":
        met = "n/a"
    ratio_text = "-" if figure.ratio is None else f"{figure.ratio:.2f}"
    baseline = number(figure.baseline)
    if figure.baseline_name and figure.baseline is not None:
        baseline += f" ({figure.baseline_name})"
    return [
        figure.name,
        f"{number(figure.ours)} {figure.unit}".strip(),
        baseline,
        ratio_text,
        figure.target_text(),
        met,
    ]


HEADER = ["figure", "ours", "baseline", "ratio", "target", "met?"]


def table(figures: Sequence[Figure]) -> str:
    """A Markdown table: figure | ours | baseline | ratio | target | met?"""
    rows = [HEADER] + [_cells(f) for f in figures]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def latency_ms(latencies_s: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    return percentile(latencies_s, 50) * 1000, percentile(latencies_s, 99) * 1000
