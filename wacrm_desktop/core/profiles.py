"""Salesperson profiles: a stable id (never the display name), a name, and which tabs are open.

The id names the QtWebEngine storage folder, so renaming a profile never loses its WhatsApp session.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import unicodedata
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .i18n import _
from .os_errors import describe_os_error
from .settings import atomic_write_json, keep_copy_aside, set_aside

log = logging.getLogger("wacrm.profiles")

MAX_NAME = 60
MESSAGE_NAME_CHARS = 40  # of a user-given name echoed in a message (name_for_message)


class ProfileError(ValueError):
    """A profile operation was refused (empty name, duplicate, unknown id)."""


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    name: str
    is_open: bool = True


# Control, format (bidi overrides, zero-width space…), surrogate and private-use characters make
# names that look alike or read backwards; they are removed, except the few below.
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}
# Kept between two visible characters: they join or separate what is shown (👩‍💼, Persian
# words), and without them the name shows something else (👩💼).
_ZWNJ, _ZWJ = "\u200c", "\u200d"
_JOINER_RUN = re.compile("[\u200c\u200d]+")
# An emoji tag sequence (the flags of England, Scotland, Wales): tags ending in CANCEL TAG.
_TAG_SEQUENCE = re.compile("[\U000e0020-\U000e007e]+\U000e007f")
_TAGS = ("\U000e0020", "\U000e007f")
# Python's Unicode tables lag behind: an emoji newer than them is "unassigned" (Cn) there.
# Such characters in the emoji blocks are kept; other unassigned ones are still removed.
_EMOJI_BLOCKS = ("\U0001f000", "\U0001fbff")
_SKIN_TONES = ("\U0001f3fb", "\U0001f3ff")
_REGIONAL_INDICATORS = ("\U0001f1e6", "\U0001f1ff")


def _between(ch: str, bounds: tuple[str, str]) -> bool:
    return bounds[0] <= ch <= bounds[1]


def _removed(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category == "Cn" and _between(ch, _EMOJI_BLOCKS):
        return False
    return category in _INVISIBLE


def _normalise_name(name: str) -> str:
    """The name as stored and compared, not yet checked (may be empty or too long).

    NFC; control, bidi and other format characters removed, except ZWJ/ZWNJ between two
    visible characters (a run of them counts as one) and emoji tag sequences after a
    character; variation selectors and skin tones are marks/symbols and stay; whitespace of
    any kind collapsed to single spaces, none at either end.
    """
    text = unicodedata.normalize("NFC", name)
    kept: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if _between(ch, _TAGS):
            match = _TAG_SEQUENCE.match(text, i)
            if match is not None and kept and not kept[-1].isspace() and kept[-1] != _ZWJ:
                kept.append(match.group())
                i = match.end()
            else:
                i += 1  # a stray tag character: invisible
            continue
        if ch in (_ZWJ, _ZWNJ) or not _removed(ch):
            kept.append(ch)
        i += 1
    visible = "".join(kept)

    def joiner(match: re.Match[str]) -> str:
        before = visible[match.start() - 1] if match.start() > 0 else " "
        after = visible[match.end()] if match.end() < len(visible) else " "
        return match.group()[0] if not (before.isspace() or after.isspace()) else ""

    return " ".join(_JOINER_RUN.sub(joiner, visible).split())


def _is_cluster_start(text: str, i: int) -> bool:
    """Whether `text` can be cut before index `i` without splitting what shows as one
    character (a letter and its accents, an emoji with its joiners, tone, tags, a flag)."""
    if i <= 0 or i >= len(text):
        return True
    ch, before = text[i], text[i - 1]
    if before in (_ZWJ, _ZWNJ) or ch in (_ZWJ, _ZWNJ):
        return False
    if unicodedata.category(ch).startswith("M") or _between(ch, _TAGS):
        return False
    if _between(ch, _SKIN_TONES):
        return False
    if _between(ch, _REGIONAL_INDICATORS):  # flags are pairs: cut only after an even run
        run = 0
        while i - 1 - run >= 0 and _between(text[i - 1 - run], _REGIONAL_INDICATORS):
            run += 1
        return run % 2 == 0
    return True


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters of `text`, cut between whole characters as shown."""
    if len(text) <= limit:
        return text
    end = limit
    while end > 0 and not _is_cluster_start(text, end):
        end -= 1
    return (text[:end] if end > 0 else text[:limit]).rstrip()


def name_for_message(name: str, limit: int = MESSAGE_NAME_CHARS) -> str:
    """A user-given name as a message echoes it: the first `limit` characters and "…" when
    longer (a 5000-character --profile must not fill the screen), never cut inside an emoji."""
    return name if len(name) <= limit else _cut(name, limit) + "…"


def clean_profile_name(name: str) -> str:
    """The name as stored (see `_normalise_name`); raises ProfileError when empty or too long."""
    cleaned = _normalise_name(name)
    if not cleaned:
        raise ProfileError(_("O nome do perfil não pode ficar vazio."))
    if len(cleaned) > MAX_NAME:
        raise ProfileError(
            _("O nome do perfil pode ter no máximo {n} caracteres.").format(n=MAX_NAME)
        )
    return cleaned


def _shortened_name(name: str) -> str:
    """A name over MAX_NAME cut to fit, ending in "…" so it visibly is not the whole name."""
    return _cut(name, MAX_NAME - 1) + "…"


def _unique_name(name: str, taken: set[str]) -> str:
    """`name`, or "name (2)", "name (3)"… (cut to fit) when a profile already has it."""
    candidate, n = name, 2
    while candidate.casefold() in taken:
        suffix = f" ({n})"
        candidate = _cut(name, MAX_NAME - len(suffix)) + suffix
        n += 1
    return candidate


@dataclass
class _LoadReport:
    skipped: list[str] = field(default_factory=list)  # entries left out: their id or position
    renamed: list[str] = field(default_factory=list)  # names given to loaded profiles


def _read_entries(entries: list[Any]) -> tuple[list[Profile], _LoadReport]:
    """The profiles in `entries`, with what could not be loaded as it was.

    What a user would expect: a profile is its WhatsApp session, so an entry costs the
    profile only when it has no usable id (without one no session folder can be found) or
    repeats an id already loaded. Anything else loads: a name over MAX_NAME is shortened
    (ending in "…"); a missing, non-text or empty name becomes "Perfil <start of id>"; a name
    another profile already has gets " (2)"; an `open` that is not true/false counts as
    open. Every entry skipped or renamed is in the report (the log says why, by position).
    """
    report = _LoadReport()
    out: list[Profile] = []
    ids: set[str] = set()
    names: set[str] = set()
    for position, item in enumerate(entries, 1):
        item = item if isinstance(item, dict) else {}
        raw_id = item.get("id")
        try:
            profile_id = str(uuid.UUID(raw_id)) if isinstance(raw_id, str) else None
        except ValueError:
            profile_id = None
        if profile_id is None or profile_id in ids:
            why = "no valid id" if profile_id is None else "a repeated id"
            log.warning("profiles file: entry %d skipped (%s)", position, why)
            report.skipped.append(
                profile_id if profile_id is not None else _("entrada nº {n}").format(n=position)
            )
            continue
        raw_name = item.get("name")
        name = _normalise_name(raw_name) if isinstance(raw_name, str) else ""
        changed = True
        if not name:
            log.warning("profiles file: entry %d has no usable name; named after its id", position)
            name = _("Perfil {id}").format(id=profile_id[:8])
        elif len(name) > MAX_NAME:
            log.warning(
                "profiles file: entry %d has a name over %d characters; shortened",
                position,
                MAX_NAME,
            )
            name = _shortened_name(name)
        else:
            changed = False
        unique = _unique_name(name, names)
        if unique != name:
            log.warning("profiles file: entry %d repeats another profile's name", position)
            name, changed = unique, True
        is_open = item.get("open", True)
        if not isinstance(is_open, bool):
            log.warning(
                "profiles file: entry %d: `open` is not true/false; taken as open", position
            )
            is_open = True
        ids.add(profile_id)
        names.add(name.casefold())
        out.append(Profile(id=profile_id, name=name, is_open=is_open))
        if changed:
            report.renamed.append(name)
    return out, report


def _listed(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return f"{shown} (+{len(items) - limit})" if len(items) > limit else shown


class ProfileRegistry:
    """Ordered list of profiles persisted in profiles.json (order = tab order).

    Writes happen on the caller's thread (the UI's: a file of a few hundred bytes) and raise
    only ProfileError, with a message for the user. Adding, renaming and removing are all or
    nothing: when the file cannot be written, nothing changes. Opening/closing a tab and the
    tab order are what the window already shows: they stay in effect even then (ProfileError
    still says they were not saved), and the next successful write saves them.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        # Why the profiles on disk could not be read as they were (app's language), for the
        # window to say.
        self.load_problem: str | None = None
        self._profiles: list[Profile] = self._load()

    def _load(self) -> list[Profile]:
        """The profiles on disk. A file that is unreadable, not JSON, or not the expected
        shape ({"profiles": [...]}) is moved aside; one with entries that cannot be loaded as
        they are (see `_read_entries`) is copied aside, then rewritten with what loaded. Either
        way the copy never overwrites an earlier one and `load_problem` says where it went."""
        try:
            data = self._path.read_bytes()
            raw = json.loads(data.decode("utf-8-sig"))  # -sig: a BOM from Notepad is fine
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            self._set_aside(f"unreadable ({exc})")
            return []
        entries = raw.get("profiles") if isinstance(raw, dict) else None
        if not isinstance(entries, list):
            self._set_aside(f"not the expected shape (JSON {type(raw).__name__})")
            return []
        profiles, report = _read_entries(entries)
        if report.skipped or report.renamed:
            self._keep_original(data, profiles, report)
        return profiles

    def _set_aside(self, why: str) -> None:
        # Keep the damaged file aside: it holds the ids of every profile's WhatsApp session
        # folder, which someone can still recover by hand. Never overwrite an earlier one.
        backup = set_aside(self._path)
        log.error("profiles file %s; kept as %s", why, backup.name if backup else "(not moved)")
        self.load_problem = _(
            "Não foi possível ler a lista de perfis ({file}): o arquivo está danificado. "
            "Ele foi guardado como {backup}. As sessões do WhatsApp continuam na pasta "
            "de dados; adicione os perfis de novo (será preciso escanear o QR)."
        ).format(file=self._path.name, backup=backup or self._path)

    def _keep_original(self, data: bytes, profiles: list[Profile], report: _LoadReport) -> None:
        try:
            backup = keep_copy_aside(self._path, data)
        except OSError as exc:
            # Without a copy the file is not rewritten now (the next change will rewrite it).
            log.error("profiles file: could not keep a copy of the original: %s", exc)
            problem = _(
                "Alguns perfis de {file} não puderam ser lidos como estavam, e não foi "
                "possível guardar uma cópia do arquivo original ({error})."
            ).format(file=self._path.name, error=describe_os_error(exc))
        else:
            log.error(
                "profiles file: entries not loaded as they were; original kept as %s", backup.name
            )
            problem = _(
                "Alguns perfis de {file} não puderam ser lidos como estavam; o arquivo "
                "original foi guardado como {backup}."
            ).format(file=self._path.name, backup=backup)
            with contextlib.suppress(ProfileError):  # logged; the next change writes it again
                self._write(profiles)
        if report.skipped:
            problem += " " + _(
                "Perfis deixados de fora (a sessão do WhatsApp de cada um continua na pasta "
                "de dados, em profiles, numa pasta com o id): {ids}."
            ).format(ids=_listed(report.skipped))
        if report.renamed:
            problem += " " + _(
                "Perfis carregados com outro nome (o nome era longo demais, vazio ou "
                "repetido; renomeie-os se quiser): {names}."
            ).format(names=_listed([f"“{name_for_message(n)}”" for n in report.renamed]))
        self.load_problem = problem

    def _write(self, profiles: list[Profile]) -> None:
        """Write `profiles` to the file (atomically); ProfileError for the user when it fails."""
        try:
            atomic_write_json(
                self._path,
                {
                    "version": 1,
                    "profiles": [{"id": p.id, "name": p.name, "open": p.is_open} for p in profiles],
                },
            )
        except OSError as exc:
            log.error("could not save the profiles file: %s", exc)
            raise ProfileError(
                _("Não foi possível salvar a lista de perfis ({file}): {error}.").format(
                    file=self._path, error=describe_os_error(exc)
                )
            ) from exc

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
        """The profile whose name is `name` as it would be stored (same case-insensitively)."""
        wanted = _normalise_name(name).casefold()
        return next((p for p in self.all() if p.name.casefold() == wanted), None)

    def add(self, name: str) -> Profile:
        cleaned = clean_profile_name(name)
        with self._lock:
            self._refuse_taken(cleaned, None)
            profile = Profile(id=str(uuid.uuid4()), name=cleaned)
            self._commit([*self._profiles, profile])
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
        cleaned = clean_profile_name(name)
        with self._lock:
            self._refuse_taken(cleaned, profile_id)
            i = self._index(profile_id)
            profiles = list(self._profiles)
            profiles[i] = replace(profiles[i], name=cleaned)
            self._commit(profiles)
            return profiles[i]

    def set_open(self, profile_id: str, is_open: bool) -> Profile:
        """Mark a tab open or closed; in effect even when saving fails (see the class)."""
        with self._lock:
            i = self._index(profile_id)
            self._profiles[i] = replace(self._profiles[i], is_open=is_open)
            self._write(self._profiles)
            return self._profiles[i]

    def remove(self, profile_id: str) -> Profile:
        with self._lock:
            i = self._index(profile_id)
            profiles = list(self._profiles)
            removed = profiles.pop(i)
            self._commit(profiles)
            return removed

    def reorder(self, ordered_ids: list[str]) -> None:
        """The new tab order; in effect even when saving fails (see the class)."""
        with self._lock:
            by_id = {p.id: p for p in self._profiles}
            if sorted(ordered_ids) != sorted(by_id):
                raise ProfileError(_("A nova ordem não contém os mesmos perfis."))
            self._profiles = [by_id[i] for i in ordered_ids]
            self._write(self._profiles)

    # -- under the lock ---------------------------------------------------------------------
    def _index(self, profile_id: str) -> int:
        for i, p in enumerate(self._profiles):
            if p.id == profile_id:
                return i
        raise ProfileError(_("Perfil desconhecido."))

    def _refuse_taken(self, name: str, profile_id: str | None) -> None:
        if any(p.name.casefold() == name.casefold() and p.id != profile_id for p in self._profiles):
            raise ProfileError(
                _("Já existe um perfil chamado “{name}”.").format(name=name_for_message(name))
            )

    def _commit(self, profiles: list[Profile]) -> None:
        """All or nothing: the list changes only once the file is written."""
        self._write(profiles)
        self._profiles = profiles
