"""Plain-text summaries of a cycle for the terminal."""
from __future__ import annotations

from collections import Counter

from edumon.config import Config
from edumon.pipeline import CycleReport


def cycle_summary(cfg: Config, report: CycleReport) -> str:
    """What a cycle did: sources, mentions per school and source, negatives and harm."""
    lines = [f"Cycle {report.cycle_id}"]
    for t in report.targets:
        err = f"  ! {t.error}" if t.error else ""
        lines.append(f"  {t.source:<9} {t.status:<13} {t.fetched:>4} fetched {t.relevant:>4} relevant "
                     f"{t.new:>4} new  {t.target}{err}")
    if report.replayed:
        lines.append(f"  replayed {report.replayed} mentions from the spool")
    if report.error:
        lines.append(f"  ! {report.error}")
    stored = report.stored
    lines.append(f"Stored {len(stored)} new mentions")
    per = Counter((sid, m.source) for m in stored for sid in m.school_ids)
    for s in cfg.schools:
        counts = {src: n for (sid, src), n in per.items() if sid == s.id}
        if counts:
            detail = ", ".join(f"{src} {n}" for src, n in sorted(counts.items()))
            lines.append(f"  {s.name}: {sum(counts.values())} ({detail})")
    negatives = [m for m in stored if m.sentiment == "negative"]
    lines.append(f"Negative: {len(negatives)}")
    for m in negatives:
        lines.append(f"  - [{', '.join(m.school_ids)}] {m.text.splitlines()[0][:100]}")
    harmful = [m for m in stored if m.harm and m.harm != "none"]
    lines.append(f"Harm (threat/insult): {len(harmful)}")
    for m in harmful:
        cues = f" (cues: {', '.join(m.cues)})" if m.cues else ""
        lines.append(f"  - {m.harm}{'/' + m.harm_kind if m.harm_kind else ''} [{', '.join(m.school_ids)}] "
                     f"{m.text.splitlines()[0][:100]}{cues}")
    if report.actions is not None:
        from edumon.protocol import summary
        lines += summary(report.actions)
    return "\n".join(lines)
