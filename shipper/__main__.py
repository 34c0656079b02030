"""``python -m shipper``."""

import sys

from ._cli import main

sys.exit(main())
