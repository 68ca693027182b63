"""Translations: every marked pt-BR text has a current English entry, and ui/ marks its texts.

The source is scanned with `ast`: `_("…")` and `N_("…")` calls with a literal are the marked
texts (core/i18n.py explains the two markers). The English catalog, resources/i18n/en.json,
must hold exactly those texts as keys (missing = untranslated, extra = stale), with the same
format placeholders, printf specifiers and HTML tags in both languages.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from wacrm_desktop.core import i18n
from wacrm_desktop.core.i18n import N_, _

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "wacrm_desktop"
CATALOG = ROOT / "resources" / "i18n" / "en.json"
MARKERS = {"_", "N_"}
# Test equipment (the simulators imitate WhatsApp Web and CV CRM, in pt-BR) is not the app.
NOT_APP = ("simulators",)


def _app_modules() -> Iterator[Path]:
    for path in sorted(PKG.rglob("*.py")):
        if not any(part in NOT_APP for part in path.relative_to(PKG).parts):
            yield path


def _marker_calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in MARKERS
        ):
            yield node


def marked_texts() -> dict[str, list[str]]:
    """pt-BR text → where it is marked ("ui/main_window.py:63")."""
    found: dict[str, list[str]] = {}
    for path in _app_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _marker_calls(tree):
            arg = call.args[0] if call.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                where = f"{path.relative_to(PKG)}:{call.lineno}"
                found.setdefault(arg.value, []).append(where)
    return found


def load_catalog() -> dict[str, str]:
    return json.loads(CATALOG.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ the catalog


def test_catalog_is_a_flat_object_of_texts_sorted_by_key() -> None:
    catalog = load_catalog()
    assert isinstance(catalog, dict) and catalog
    bad = {k: v for k, v in catalog.items() if not isinstance(v, str) or not v.strip()}
    assert not bad, f"empty or non-text translations: {bad}"
    assert list(catalog) == sorted(catalog), "keep resources/i18n/en.json sorted by key"


def test_every_marked_text_has_an_english_entry() -> None:
    catalog = load_catalog()
    missing = {text: where for text, where in marked_texts().items() if text not in catalog}
    assert not missing, "add these to resources/i18n/en.json:\n" + "\n".join(
        f"  {text!r}  ({', '.join(where)})" for text, where in sorted(missing.items())
    )


def test_no_stale_entries() -> None:
    marked = marked_texts()
    stale = sorted(text for text in load_catalog() if text not in marked)
    assert not stale, "no longer marked in the code (remove or update):\n" + "\n".join(
        f"  {text!r}" for text in stale
    )


_FIELD = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})")
_PRINTF = re.compile(r"%(?:\([a-z_]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
_TAG = re.compile(r"</?(?:a|b|br|em|i|p|small|span|strong|u)\b[^>]*>")  # not "<subdomínio>"


def _shape(text: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
    return (
        Counter(_FIELD.findall(text)),
        Counter(_PRINTF.findall(text)),
        Counter(_TAG.findall(text)),
    )


def test_placeholders_and_markup_survive_translation() -> None:
    bad = []
    for text, english in load_catalog().items():
        fields = _shape(text)[0]
        if _shape(english) != _shape(text):
            bad.append(f"  {text!r}\n    -> {english!r}")
        elif fields and all(name.isidentifier() for name in fields):
            english.format(**dict.fromkeys(fields, "x"))  # still a valid template
    assert not bad, "placeholders, %-specifiers or tags differ:\n" + "\n".join(bad)


def test_marked_texts_are_literals_not_fstrings() -> None:
    """_(f"…") or _(x + "…") could never match the catalog; format after the lookup."""
    offenders = []
    for path in _app_modules():
        for call in _marker_calls(ast.parse(path.read_text(encoding="utf-8"))):
            arg = call.args[0] if call.args else None
            if call.func.id == "N_" and not (  # type: ignore[attr-defined]
                isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            ):
                offenders.append(f"{path.relative_to(PKG)}:{call.lineno} N_ needs a literal")
            if isinstance(arg, ast.JoinedStr | ast.BinOp):
                offenders.append(f"{path.relative_to(PKG)}:{call.lineno} builds the text")
    assert not offenders, "\n".join(offenders)


def test_modules_using_the_markers_never_rebind_underscore() -> None:
    """`for _ in …`, `a, _ = …` or `lambda _:` would shadow the lookup in that scope."""
    offenders = []
    for path in _app_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports_marker = any(
            isinstance(n, ast.ImportFrom) and any(a.name == "_" for a in n.names)
            for n in ast.walk(tree)
        )
        if not imports_marker:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store)
            ) or (isinstance(node, ast.arg) and node.arg == "_"):
                offenders.append(f"{path.relative_to(PKG)}:{node.lineno}")
    assert not offenders, "rename these `_` bindings: " + ", ".join(offenders)


# ------------------------------------------------------------------ unmarked texts in the UI

# Where a widget shows the argument: Qt setters, constructors and dialogs, and the app's own
# sinks. Value: positional indexes checked (None = all) and keyword names checked.
_METHOD_SINKS: dict[str, tuple[tuple[int, ...] | None, tuple[str, ...]]] = {
    "setText": ((0,), ()),
    "setToolTip": ((0,), ()),
    "setStatusTip": ((0,), ()),
    "setWhatsThis": ((0,), ()),
    "setWindowTitle": ((0,), ()),
    "setPlaceholderText": ((0,), ()),
    "setPrefix": ((0,), ()),
    "setSuffix": ((0,), ()),
    "setSpecialValueText": ((0,), ()),
    "setLabelText": ((0,), ()),
    "setTabText": ((1,), ()),
    "setTabToolTip": ((1,), ()),
    "showMessage": ((0, 1), ()),
    "addItem": ((0,), ()),
    "addAction": ((0,), ()),
    "addMenu": ((0,), ()),
    "addRow": ((0,), ()),
    "addTab": ((1,), ()),
    "question": ((1, 2), ()),
    "warning": ((1, 2), ()),
    "information": ((1, 2), ()),
    "critical": ((1, 2), ()),
    "getText": ((1, 2), ()),
    "getItem": ((1, 2), ()),
    "getInt": ((1, 2), ()),
    "getSaveFileName": ((1, 2), ()),
    "getOpenFileName": ((1,), ()),
    "getExistingDirectory": ((1,), ()),
    # the app's own
    "set_notice": ((1,), ()),
    "set_status": ((0,), ()),
    "show_error": ((0,), ()),
    "show_unavailable": ((0,), ()),
    "show_not_found": ((0,), ()),
    "show_no_phone": ((0,), ()),
    "show_auth_error": ((0,), ()),
    "show_not_configured": ((0,), ()),
    "show_search_results": ((1,), ()),
    "_show_banner": ((0,), ()),
    "_failed": ((1,), ()),
    "_write": ((1,), ()),
    "_fail": ((0,), ()),
    "add_argument": ((), ("help", "metavar")),
    "ArgumentParser": ((), ("description",)),
}
_WIDGETS = {
    "QLabel", "QPushButton", "QToolButton", "QCheckBox", "QRadioButton", "QGroupBox",
    "QAction", "QMenu", "QListWidgetItem", "CollapsibleSection",
}  # fmt: skip
_WIDGET_ARGS: dict[str, tuple[int, ...]] = {"CollapsibleSection": (1,)}
# Literals that are not words to translate: product names, codes, data written elsewhere.
NOT_TEXT = {
    "WACRM Desktop",  # product name
    "MS",  # metavar of the hidden --quit-after (milliseconds)
    "CH",  # CV CRM origin code, the placeholder of the origin field
    "JSON (*.json)",  # file filter
}
UI_FILES = ("ui", "app.py", "cli.py")
_LETTERS = re.compile(r"[A-Za-zÀ-ÿ]{2,}")
# Not words: markup (also a tag cut by an f-string), placeholders, entities, flags, URLs, colours.
_NOT_WORDS = re.compile(
    r"<[^>]*>?|\{[^{}]*\}|&[a-z]+;|--[a-z][a-z-]*|https?://\S*|#[0-9a-fA-F]{3,8}\b"
)
# A pt-BR prose literal anywhere in ui/ (constants, tuples, returns): an accented letter, a
# sentence, or two words one of which is a common Portuguese word.
_PT_WORDS = re.compile(
    r"\b(não|de|do|da|dos|das|no|na|em|para|com|por|sem|um|uma|o|a|os|as|este|esta|nenhum|"
    r"nenhuma|abra|conversa|perfil|telefone|mensagens?|contato)\b",
    re.IGNORECASE,
)
_ACCENT = re.compile(r"[ãõçáéíóúâêôàÃÕÇÁÉÍÓÚÂÊÔÀ]")
_SENTENCE = re.compile(r"^[A-ZÀ-Ý][^\s]*\s.*[.…:?!]$", re.DOTALL)  # "Falha desconhecida."
_NOT_UI_CALLS = {
    "debug", "info", "warning", "error", "exception", "log", "getLogger",  # logging
    "setObjectName", "setStyleSheet", "setProperty", "setDisplayFormat", "runJavaScript",
    "_run_js", "send_command", "submit", "Signal", "compile",
}  # fmt: skip
_NOT_UI_KEYWORDS = {"detail"}  # CrmError(detail=…): an English note for the log


def _ui_modules() -> Iterator[Path]:
    for name in UI_FILES:
        target = PKG / name
        if target.is_dir():
            yield from sorted(target.rglob("*.py"))
        elif target.exists():
            yield target


def _has_words(text: str) -> bool:
    return text not in NOT_TEXT and bool(_LETTERS.search(_NOT_WORDS.sub(" ", text)))


def _is_marker(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (node.func.id in MARKERS)
    )


def _unmarked_literals(expr: ast.AST) -> Iterator[ast.Constant]:
    """String literals in `expr` outside _()/N_() (f-string parts included)."""
    if _is_marker(expr):
        return
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        yield expr
        return
    for child in ast.iter_child_nodes(expr):
        yield from _unmarked_literals(child)


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _sink_args(call: ast.Call) -> Iterator[ast.AST]:
    name = _call_name(call)
    if name in _WIDGETS:
        indexes: tuple[int, ...] | None = _WIDGET_ARGS.get(name, (0,))
        keywords: tuple[str, ...] = ("text", "title")
    elif name in _METHOD_SINKS:
        indexes, keywords = _METHOD_SINKS[name]
    else:
        return
    for i, arg in enumerate(call.args):
        if indexes is None or i in indexes:
            yield arg
    for kw in call.keywords:
        if kw.arg in keywords:
            yield kw.value


def unmarked_ui_texts() -> list[tuple[str, int, str]]:
    """(module, line, text) of user-visible literals in ui/, app.py and cli.py left unmarked."""
    offenders: set[tuple[str, int, str]] = set()
    for path in _ui_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = str(path.relative_to(PKG))
        parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                parents[child] = node
        # 1. Texts handed to a widget, a dialog or the command line.
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for arg in _sink_args(node):
                    for lit in _unmarked_literals(arg):
                        if _has_words(lit.value):
                            offenders.add((rel, lit.lineno, lit.value))
        # 2. Portuguese prose anywhere else (constants, tuples, returns), outside docstrings,
        #    comparisons, logging and technical calls.
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            text = _NOT_WORDS.sub(" ", node.value)
            prose = (
                _ACCENT.search(text)
                or _SENTENCE.match(node.value.strip())
                or (" " in node.value.strip() and _PT_WORDS.search(text))
            )
            if node.value in NOT_TEXT or not prose:
                continue
            parent = parents.get(node)
            if isinstance(parent, ast.Expr | ast.Compare):
                continue  # a docstring, or a value compared with
            if isinstance(parent, ast.keyword) and parent.arg in _NOT_UI_KEYWORDS:
                continue
            up: ast.AST | None = node
            while up is not None and not (
                _is_marker(up) or (isinstance(up, ast.Call) and _call_name(up) in _NOT_UI_CALLS)
            ):
                up = parents.get(up)
            if up is None:
                offenders.add((rel, node.lineno, node.value))
    return sorted(offenders)


# Deliberately pt-BR whatever the language (see the comment where each is written).
KEPT_PT = {
    ("ui/history_view.py", "usuário local"),  # the actor recorded in MongoDB's audit collection
    ("ui/lead/controller.py", "Corretor"),  # the transcript stored in CV CRM
}


def test_ui_texts_are_marked_for_translation() -> None:
    left = [o for o in unmarked_ui_texts() if (o[0], o[2]) not in KEPT_PT]
    assert not left, "mark these user-visible texts with _() (or N_() in constants):\n" + (
        "\n".join(f"  {rel}:{line}: {text!r}" for rel, line, text in left)
    )


def test_the_ui_check_sees_an_unmarked_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heuristic itself: a plain literal in a widget is reported, a marked one is not."""
    ui = tmp_path / "wacrm_desktop" / "ui"
    ui.mkdir(parents=True)
    (ui / "x.py").write_text(
        "from ..core.i18n import _\n"
        "a = QLabel('Salvar agora')\n"
        "b = QLabel(_('Salvar agora'))\n"
        "b.setToolTip(f'{n} mensagens')\n"
        "c.setObjectName('saveButton')\n"
        "REASON = 'Conversa em grupo: não há telefone'\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.modules[__name__], "PKG", tmp_path / "wacrm_desktop")
    found = {(line, text) for _rel, line, text in unmarked_ui_texts()}
    assert found == {
        (2, "Salvar agora"),
        (4, " mensagens"),
        (6, "Conversa em grupo: não há telefone"),
    }


# ------------------------------------------------------------------ the lookup itself


@pytest.fixture
def english() -> Iterator[None]:
    i18n.set_language("en")
    yield
    i18n.set_language(i18n.DEFAULT_LANGUAGE)


def test_pt_br_is_the_source_and_the_default() -> None:
    assert i18n.current_language() == "pt_BR"
    assert _("Enviar") == "Enviar"
    assert _("a text nobody marked") == "a text nobody marked"


def test_english_lookup_and_fallback(english: None) -> None:
    assert i18n.current_language() == "en"
    assert _("Enviar") == "Send"
    assert _("{n} resultado(s).").format(n=3) == "3 result(s)."
    assert _("a text nobody marked") == "a text nobody marked"  # pt-BR beats an error
    assert N_("Enviar") == "Enviar"  # N_ only marks


@pytest.mark.parametrize(
    "value, code",
    [
        ("pt_BR", "pt_BR"), ("pt-BR", "pt_BR"), ("pt", "pt_BR"), ("pt_BR.UTF-8", "pt_BR"),
        ("Português (Brasil)", "pt_BR"), ("en", "en"), ("en_US", "en"), ("EN-gb", "en"),
        ("English", "en"), ("fr", None), ("", None), (None, None), (3, None),
    ],
)  # fmt: skip
def test_normalize_language(value: object, code: str | None) -> None:
    assert i18n.normalize_language(value) == code


def test_unknown_language_falls_back_to_pt_br() -> None:
    assert i18n.set_language("klingon") == "pt_BR"
    assert _("Enviar") == "Enviar"


def test_env_overrides_the_setting() -> None:
    from wacrm_desktop.core.settings import RuntimeConfig, Settings

    built = RuntimeConfig.build(Settings(language="pt_BR"), {"WACRM_LANGUAGE": "en"})
    assert built.settings.language == "en"
    assert RuntimeConfig.build(Settings(language="en"), {}).settings.language == "en"
    assert RuntimeConfig.build(Settings(), {"WACRM_LANGUAGE": " "}).settings.language == "pt_BR"


def test_services_and_core_messages_follow_the_language(english: None) -> None:
    from wacrm_desktop.core.lead_text import age_text
    from wacrm_desktop.core.leads import CrmAuthError
    from wacrm_desktop.core.whatsapp import state_label

    assert state_label("qr") == "waiting for QR"
    assert age_text(0, 300) == "updated 5 min ago"
    assert "refused" in CrmAuthError().message


def test_command_line_messages_follow_the_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wacrm_desktop.cli import main

    monkeypatch.setenv("WACRM_LANGUAGE", "en")
    assert main(["--whatsapp-url", "web.whatsapp.com", "--data-dir", str(tmp_path)]) == 2
    assert "must start with" in capsys.readouterr().err
    monkeypatch.delenv("WACRM_LANGUAGE")
    (tmp_path / "settings.json").write_text('{"language": "en"}', encoding="utf-8")
    assert main(["--data-dir", str(tmp_path), "--profile", ""]) == 2
    assert "empty" in capsys.readouterr().err
