"""Entry script for the PyInstaller build (build_installer.spec): the same `main` as `wacrm`."""

import sys

from wacrm_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
