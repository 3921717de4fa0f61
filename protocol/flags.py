"""Protocol rules that flag a mention without a follow-up: consent for pictures
of pupils, and staff who post about their school without the disclosure."""

from __future__ import annotations

from typing import Any

from core.config import Config, StaffAccount
from core.mention import Mention, normalise_text

VISUAL = ("image", "photo", "video", "gif", "gifv", "picture", "img", "movie")


def _is_visual(item: dict[str, Any]) -> bool:
    kind = " ".join(str(item.get(k) or "") for k in ("type", "kind", "mime", "mime_type", "mimeType", "$type"))
    if not kind.strip():
        return True  # a media item of unknown type: check it rather than miss it
    return any(v in kind.lower() for v in VISUAL)


def media_consent(m: Mention) -> str | None:
    """A photo or video in a post about a school -> a consent check (detail), else None."""
    if not m.school_ids:
        return None
    visual = [it for it in (m.media or []) if isinstance(it, dict) and _is_visual(it)]
    if visual:
        kinds = sorted({str(it.get("type") or it.get("kind") or it.get("mime_type") or "media") for it in visual})
        return f"{len(visual)} beeld(en) ({', '.join(kinds)}): toestemming van ouders/leerlingen controleren"
    if m.has_media and not m.media:
        return "bericht met beeldmateriaal: toestemming van ouders/leerlingen controleren"
    return None


def _handle(value: str | None) -> str:
    return (value or "").strip().lstrip("@").lower()


def staff_account_for(cfg: Config, m: Mention) -> StaffAccount | None:
    """The configured staff member who wrote this mention, if any."""
    mine = {_handle(m.author), _handle(m.author_id)} - {""}
    for s in cfg.staff:
        if mine & {_handle(a) for a in s.accounts}:
            return s
    return None


def staff_disclosure(cfg: Config, m: Mention) -> tuple[StaffAccount, str] | None:
    """A staff member's post about their school that lacks the disclosure ("medewerker van ...")
    or the personal-opinion disclaimer -> (staff, what is missing), else None."""
    staff = staff_account_for(cfg, m)
    if staff is None or not m.school_ids:
        return None
    if staff.school is not None and staff.school not in m.school_ids:
        return None
    text = normalise_text(m.text)
    missing = []
    if not any(normalise_text(p) in text for p in cfg.protocol.disclosure_phrases):
        missing.append('de vermelding dat de schrijver medewerker is ("medewerker van ...")')
    if not any(normalise_text(p) in text for p in cfg.protocol.disclaimer_phrases):
        missing.append("de disclaimer dat het een persoonlijke mening is")
    if not missing:
        return None
    return staff, "zonder " + " en zonder ".join(missing)
