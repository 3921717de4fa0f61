"""Plain-text summaries of a cycle for the terminal."""

from __future__ import annotations

import re
from collections import Counter

from core.config import Config
from pipeline import CycleReport
from protocol import summary

# C0/C1 control characters (ESC starts terminal escape sequences) and bidi overrides/isolates
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """Text from a post made safe to print: control and bidi-override characters become
    visible escapes, so a post cannot recolour, clear or reorder the user's terminal."""
    return _UNSAFE.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text
    )


def first_line(text: str, width: int = 100) -> str:
    lines = text.splitlines()
    return terminal_safe(lines[0][:width]) if lines else ""


def cycle_summary(cfg: Config, report: CycleReport) -> str:
    """What a cycle did: sources, mentions per school and source, negatives and harm."""
    lines = [f"Cycle {report.cycle_id}"]
    for t in report.targets:
        err = f"  ! {terminal_safe(t.error)}" if t.error else ""
        lines.append(
            f"  {t.source:<9} {t.status:<13} {t.fetched:>4} fetched {t.relevant:>4} relevant "
            f"{t.new:>4} new  {t.target}{err}"
        )
    if report.replayed:
        lines.append(f"  replayed {report.replayed} mentions from the spool")
    if report.error:
        lines.append(f"  ! {terminal_safe(report.error)}")
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
        lines.append(f"  - [{', '.join(m.school_ids)}] {first_line(m.text)}")
    harmful = [m for m in stored if m.harm and m.harm != "none"]
    lines.append(f"Harm (threat/insult): {len(harmful)}")
    for m in harmful:
        cues = f" (cues: {', '.join(m.cues)})" if m.cues else ""
        lines.append(
            f"  - {m.harm}{'/' + m.harm_kind if m.harm_kind else ''} [{', '.join(m.school_ids)}] "
            f"{first_line(m.text)}{cues}"
        )
    if report.actions is not None:
        lines += [terminal_safe(line) for line in summary(report.actions)]
    elif report.urgent is not None and (report.urgent.sent or report.urgent.failed):  # spooled: said here
        lines.append(
            f"Urgent alerts sent before the store: {len(report.urgent.sent)}; failed: {len(report.urgent.failed)}"
        )
    return "\n".join(lines)
