"""WACRM Desktop: WhatsApp Web per salesperson, with the CV CRM lead beside the open chat."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wacrm-desktop")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
