"""core.os_errors: OS errors in the app's language inside its messages."""

from __future__ import annotations

import errno
import os

import pytest

from wacrm_desktop.core import i18n
from wacrm_desktop.core.os_errors import describe_os_error


@pytest.mark.parametrize(
    ("code", "pt_br"),
    [
        (errno.EACCES, "sem permissão de acesso"),
        (errno.EROFS, "o disco só permite leitura"),
        (errno.ENOSPC, "o disco está cheio"),
        (errno.ENOENT, "o arquivo ou a pasta não existe"),
        (errno.ENOTDIR, "uma parte do caminho é um arquivo, não uma pasta"),
        (errno.EEXIST, "já existe um arquivo com esse nome"),
    ],
)
def test_common_errors_are_translated(code: int, pt_br: str) -> None:
    error = OSError(code, os.strerror(code), "/x")
    assert describe_os_error(error) == pt_br
    i18n.set_language("en")
    try:
        english = describe_os_error(error)
    finally:
        i18n.set_language("pt_BR")
    assert english != pt_br and english.isascii()


def test_other_errors_keep_the_system_text() -> None:
    assert describe_os_error(OSError(errno.EIO, "Input/output error")) == "Input/output error"
    assert describe_os_error(OSError("no errno")) == "no errno"
    assert describe_os_error(PermissionError(errno.EACCES, "x")) == "sem permissão de acesso"
    assert describe_os_error(ValueError()) == "ValueError"
