"""CV CRM's `origem` codes: a lead's origin is written as a 2-letter code.

The list is CV CRM's own (a public integration's code comment, see README "CV CRM"); the
tenant may have others, so any 2-letter code is accepted. The names are CV CRM's texts and
are shown as CV CRM writes them (not translated).
"""

from __future__ import annotations

import re

__all__ = ["LEAD_ORIGINS", "origin_code", "origin_label"]

LEAD_ORIGINS: dict[str, str] = {
    "AP": "Aplicativo",
    "AT": "Atendimento",
    "BC": "Busca Compartilhada",
    "BO": "Busca Orgânica",
    "CH": "Chat",
    "CB": "ChatBot",
    "DP": "Display",
    "EM": "Email",
    "FB": "Facebook",
    "GO": "Google",
    "IT": "InstaPage",
    "IG": "Instagram",
    "LI": "Ligação",
    "MP": "Mídia Paga",
    "OP": "Outras publicidades",
    "CL": "Painel Cliente",
    "CO": "Painel Corretor",
    "GE": "Painel Gestor",
    "IM": "Painel Imobiliária",
    "PV": "PDV",
    "PT": "Phonetrack",
    "PO": "Portais",
    "RF": "Referência",
    "SC": "Social",
    "TD": "Tráfego Direto",
    "TW": "Twitter",
    "SI": "WebSite",
    "UK": "Desconhecido",
    "ND": "Não Definido",
    "VO": "Vendas Online",
    "RM": "Remarketing",
    "OU": "Outros",
}
SEPARATOR = " — "
_CODE_RE = re.compile(r"^\s*([A-Za-z]{2})(?:\s|—|-|$)")


def origin_label(code: str) -> str:
    """ "CH" → "CH — Chat"; a code CV CRM's public list does not name stays as it is."""
    code = code.strip().upper()
    name = LEAD_ORIGINS.get(code)
    return f"{code}{SEPARATOR}{name}" if name else code


def origin_code(text: str) -> str:
    """What was picked or typed → the code to send: "CH — Chat" / "ch" → "CH"; "" → "".

    Text that does not start with a 2-letter code is returned upper-cased and trimmed, for
    CV CRM to judge (its answer is shown)."""
    match = _CODE_RE.match(text)
    if match:
        return match.group(1).upper()
    return text.strip().upper()
