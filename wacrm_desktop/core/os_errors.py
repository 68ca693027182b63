"""Operating-system errors in the user's language.

`OSError.strerror` is the C library's English text ("Read-only file system"); inside a pt-BR
message it reads as a foreign word. The common cases of files and folders get a text of the
app's catalog; anything else keeps the system's text.
"""

from __future__ import annotations

import errno

from .i18n import N_, _

__all__ = ["describe_os_error"]

# pt-BR sources, translated when shown.
_TEXTS: dict[int, str] = {
    errno.EACCES: N_("sem permissão de acesso"),
    errno.EPERM: N_("operação não permitida"),
    errno.EROFS: N_("o disco só permite leitura"),
    errno.ENOSPC: N_("o disco está cheio"),
    errno.ENOENT: N_("o arquivo ou a pasta não existe"),
    errno.ENOTDIR: N_("uma parte do caminho é um arquivo, não uma pasta"),
    errno.EEXIST: N_("já existe um arquivo com esse nome"),
    errno.EISDIR: N_("é uma pasta, não um arquivo"),
    errno.ENAMETOOLONG: N_("o nome é longo demais"),
}
if hasattr(errno, "EDQUOT"):
    _TEXTS[errno.EDQUOT] = N_("a cota de disco foi excedida")


def describe_os_error(error: BaseException) -> str:
    """A short text for an OS error: translated for the common cases, else the system's."""
    if isinstance(error, OSError):
        code = error.errno
        if code in _TEXTS:
            return _(_TEXTS[code])
        if error.strerror:
            return error.strerror
    return str(error) or type(error).__name__
