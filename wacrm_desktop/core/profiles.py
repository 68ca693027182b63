"""Salesperson profiles: a stable id (never the display name), a name, and which tabs are open.

The id names the QtWebEngine storage folder, so renaming a profile never loses its WhatsApp session.
"""

from __future__ import annotations

import json
import logging
import threading
import unicodedata
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from .i18n import _
from .settings import atomic_write_json

log = logging.getLogger("wacrm.profiles")

MAX_NAME = 60


class ProfileError(ValueError):
    """A profile operation was refused (empty name, duplicate, unknown id)."""


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    name: str
    is_open: bool = True


# Control and bidirectional-override characters make names that look alike or read backwards.
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}


def clean_profile_name(name: str) -> str:
    """NFC-normalised, invisible characters removed, spaces collapsed; raises ProfileError."""
    normalised = unicodedata.normalize("NFC", name)
    visible = "".join(ch for ch in normalised if unicodedata.category(ch) not in _INVISIBLE)
    return _clean_name(visible)


def _clean_name(name: str) -> str:
    cleaned = " ".join(unicodedata.normalize("NFC", name).split())
    cleaned = "".join(ch for ch in cleaned if unicodedata.category(ch) not in _INVISIBLE)
    if not cleaned:
        raise ProfileError(_("O nome do perfil não pode ficar vazio."))
    if len(cleaned) > MAX_NAME:
        raise ProfileError(
            _("O nome do perfil pode ter no máximo {n} caracteres.").format(n=MAX_NAME)
        )
    return cleaned


class ProfileRegistry:
    """Ordered list of profiles persisted in profiles.json (order = tab order)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        # Why the profiles on disk could not be read (app's language), for the window to say.
        self.load_problem: str | None = None
        self._profiles: list[Profile] = self._load()

    def _backup_path(self) -> Path:
        """profiles.broken.json, or profiles.broken-2.json… when an earlier one is kept."""
        backup = self._path.with_name(self._path.stem + ".broken.json")
        n = 2
        while backup.exists():
            backup = self._path.with_name(f"{self._path.stem}.broken-{n}.json")
            n += 1
        return backup

    def _load(self) -> list[Profile]:
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            # Keep the damaged file aside: it holds the ids of every profile's WhatsApp session
            # folder, which someone can still recover by hand. Never overwrite it.
            backup = self._backup_path()
            log.error("profiles file unreadable (%s); kept as %s", exc, backup.name)
            try:
                self._path.replace(backup)
            except OSError:
                log.error("could not move the broken profiles file aside")
                backup = self._path
            self.load_problem = _(
                "Não foi possível ler a lista de perfis ({file}): o arquivo está danificado. "
                "Ele foi guardado como {backup}. As sessões do WhatsApp continuam na pasta "
                "de dados; adicione os perfis de novo (será preciso escanear o QR)."
            ).format(file=self._path.name, backup=backup)
            return []
        out: list[Profile] = []
        for item in raw.get("profiles", []) if isinstance(raw, dict) else []:
            try:
                out.append(
                    Profile(
                        id=str(uuid.UUID(str(item["id"]))),
                        name=_clean_name(str(item["name"])),
                        is_open=bool(item.get("open", True)),
                    )
                )
            except (KeyError, ValueError, TypeError, ProfileError):
                log.warning("profiles file: skipping a malformed entry")
        return out

    def _save(self) -> None:
        atomic_write_json(
            self._path,
            {
                "version": 1,
                "profiles": [
                    {"id": p.id, "name": p.name, "open": p.is_open} for p in self._profiles
                ],
            },
        )

    def all(self) -> list[Profile]:
        with self._lock:
            return list(self._profiles)

    def open_profiles(self) -> list[Profile]:
        return [p for p in self.all() if p.is_open]

    def get(self, profile_id: str) -> Profile:
        for p in self.all():
            if p.id == profile_id:
                return p
        raise ProfileError(_("Perfil desconhecido."))

    def find_by_name(self, name: str) -> Profile | None:
        wanted = " ".join(name.split()).casefold()
        return next((p for p in self.all() if p.name.casefold() == wanted), None)

    def add(self, name: str) -> Profile:
        cleaned = _clean_name(name)
        with self._lock:
            if any(p.name.casefold() == cleaned.casefold() for p in self._profiles):
                raise ProfileError(_("Já existe um perfil chamado “{name}”.").format(name=cleaned))
            profile = Profile(id=str(uuid.uuid4()), name=cleaned)
            self._profiles.append(profile)
            self._save()
            return profile

    def ensure(self, name: str) -> Profile:
        """The profile with this name, opened; created if missing (for --profile NAME)."""
        existing = self.find_by_name(name)
        if existing is None:
            return self.add(name)
        if not existing.is_open:
            return self.set_open(existing.id, True)
        return existing

    def rename(self, profile_id: str, name: str) -> Profile:
        cleaned = _clean_name(name)
        with self._lock:
            if any(
                p.name.casefold() == cleaned.casefold() and p.id != profile_id
                for p in self._profiles
            ):
                raise ProfileError(_("Já existe um perfil chamado “{name}”.").format(name=cleaned))
            return self._replace(profile_id, name=cleaned)

    def set_open(self, profile_id: str, is_open: bool) -> Profile:
        with self._lock:
            return self._replace(profile_id, is_open=is_open)

    def _replace(self, profile_id: str, **changes: object) -> Profile:
        for i, p in enumerate(self._profiles):
            if p.id == profile_id:
                self._profiles[i] = replace(p, **changes)  # type: ignore[arg-type]
                self._save()
                return self._profiles[i]
        raise ProfileError(_("Perfil desconhecido."))

    def remove(self, profile_id: str) -> Profile:
        with self._lock:
            for i, p in enumerate(self._profiles):
                if p.id == profile_id:
                    del self._profiles[i]
                    self._save()
                    return p
        raise ProfileError(_("Perfil desconhecido."))

    def reorder(self, ordered_ids: list[str]) -> None:
        with self._lock:
            by_id = {p.id: p for p in self._profiles}
            if sorted(ordered_ids) != sorted(by_id):
                raise ProfileError(_("A nova ordem não contém os mesmos perfis."))
            self._profiles = [by_id[i] for i in ordered_ids]
            self._save()
