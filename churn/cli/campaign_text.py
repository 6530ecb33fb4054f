"""The text of `churn campaign report` (the JSON carries the same figures)."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any, money: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if money else f"{value:.4f}"


def _window(out: dict[str, Any]) -> str:
    w = out.get("window") or {}
    if not w:
        return "  window: none"
    if w["end"] is None:
        return f"  window: from {w['start'][:16]}, no horizon (ends when the campaign is closed)"
    share = w["passed_share"]
    return (
        f"  window: {w['start'][:16]} .. {w['end'][:16]} UTC ({w['horizon_days'] or '-'} days), "
        f"{share:.0%} passed" + (", FINAL" if w["final"] else ", interim")
    )


def report_text(campaign: Any, out: dict[str, Any]) -> str:
    lines = [
        f"campaign {campaign.name}: model {campaign.model_version}, rank {campaign.rank_rule}, "
        f"started {campaign.started_at:%Y-%m-%d %H:%M} UTC"
        + ("" if campaign.is_open else f", closed {campaign.closed_at:%Y-%m-%d %H:%M}"),
        _window(out),
        f"  status: {out['message']}",
    ]
    if campaign.min_detectable_uplift is not None:
        lines.append(
            "  design: smallest uplift detectable with 80% power "
            f"{campaign.min_detectable_uplift:.4f}"
        )
    for arm in ("treated", "control"):
        a = out[arm]
        rate = "n/a" if a["outcome_rate"] is None else f"{a['outcome_rate']:.1%}"
        lines.append(
            f"  {arm:8s} n={a['n']:<7d} outcomes={a['outcomes']:<7d} ({rate} back) "
            f"churn rate={_fmt(a['churn_rate'])}"
        )
    pct = f"{out['confidence']:.0%}"
    for key, money in (("uplift", False), ("customers_saved", False), ("net_value", True)):
        value = (
            "not enough outcomes yet" if out[key] is None
            else f"{_fmt(out[key], money)}  ({pct} interval {_fmt(out[key + '_ci_low'], money)}"
            f" .. {_fmt(out[key + '_ci_high'], money)})"
        )  # fmt: skip
        lines.append(f"  {key:16s} {value}")
    lines.append(
        f"  precision in the top {campaign.budget} (control arm): {_fmt(out['precision_top_n'])}"
    )
    if (c := out.get("complier")) is not None:
        lines.append(
            f"  contacts: {c['contacted']} contacted, {c['reached']} reached "
            f"({c['reach_rate']:.1%} of treated; {c['churned_before_contact']} churned before "
            f"the contact); effect of being reached {_fmt(c['cace'])} ({pct} interval "
            f"{_fmt(c['cace_ci_low'])} .. {_fmt(c['cace_ci_high'])})"
        )
    for warning in out["checks"]["warnings"]:
        lines.append(f"  WARNING: {warning}")
    if (seg := out.get("segments")) is not None:
        lines.append(f"  by segment ({seg['note']})")
        for r in seg["rows"]:
            figure = (
                f"{_fmt(r['uplift'])} [{_fmt(r['ci_low'])} .. {_fmt(r['ci_high'])}]"
                if r["enough"] else "not enough outcomes yet"
            )  # fmt: skip
            lines.append(
                f"    {r['segment']:12s} {r['value']:16s} outcomes t={r['treated_outcomes']:<5d} "
                f"c={r['control_outcomes']:<5d} uplift {figure}"
            )
    return "\n".join(lines)
