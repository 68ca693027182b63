"""What a browser would ask the user: site permissions, downloads, desktop notifications.

Permission answers are remembered per profile by QtWebEngine itself (the profile is built with
PersistentPermissionsPolicy.StoreOnDisk), so each question is asked once per salesperson.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWebEngineCore import (
    QWebEngineDownloadRequest,
    QWebEngineNotification,
    QWebEnginePermission,
)
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ..core.i18n import N_, _

log = logging.getLogger("wacrm.web")

_PERMISSION_TEXT = {  # pt-BR sources, translated when asked
    QWebEnginePermission.PermissionType.Notifications: N_("mostrar notificações"),
    QWebEnginePermission.PermissionType.MediaAudioCapture: N_(
        "usar o microfone (mensagens de voz)"
    ),
    QWebEnginePermission.PermissionType.MediaVideoCapture: N_("usar a câmera"),
    QWebEnginePermission.PermissionType.MediaAudioVideoCapture: N_("usar o microfone e a câmera"),
    QWebEnginePermission.PermissionType.ClipboardReadWrite: N_("usar a área de transferência"),
}


def ask_permission(parent: QWidget, profile_name: str, permission: QWebEnginePermission) -> None:
    """Ask once; the answer is stored by the profile. Unknown kinds are denied."""
    what = _PERMISSION_TEXT.get(permission.permissionType())
    if what is None:
        log.info("denied permission %s", permission.permissionType().name)
        permission.deny()
        return
    answer = QMessageBox.question(
        parent,
        _("Permissão do WhatsApp"),
        _(
            "Permitir que o WhatsApp do perfil “{profile}” possa {what}?\n"
            "A resposta fica guardada para este perfil."
        ).format(profile=profile_name, what=_(what)),
    )
    if answer == QMessageBox.StandardButton.Yes:
        permission.grant()
    else:
        permission.deny()


def downloads_dir() -> Path:
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
    return Path(location) if location else Path.home()


def handle_download(parent: QWidget, download: QWebEngineDownloadRequest) -> None:
    """A save dialog that starts in the user's Downloads folder."""
    suggested = downloads_dir() / (download.downloadFileName() or _("arquivo"))
    path, _filter = QFileDialog.getSaveFileName(parent, _("Salvar arquivo"), str(suggested))
    if not path:
        download.cancel()
        return
    target = Path(path)
    download.setDownloadDirectory(str(target.parent))
    download.setDownloadFileName(target.name)
    download.accept()
    log.info("download started")


NotificationSink = Callable[[str, str, str], None]  # profile id, title, message


def make_notification_presenter(
    profile_id: str, sink: NotificationSink
) -> Callable[[QWebEngineNotification], None]:
    """WhatsApp's Notification API calls end here and are shown through the system tray."""

    def _present(notification: QWebEngineNotification) -> None:
        sink(profile_id, notification.title(), notification.message())
        notification.show()

    return _present
