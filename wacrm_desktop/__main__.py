"""`python -m wacrm_desktop` runs the app."""

import sys

from .cli import main

sys.exit(main())
