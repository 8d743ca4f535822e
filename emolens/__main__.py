"""``python -m emolens``."""

import sys

from emolens.cli import main

if __name__ == "__main__":
    sys.exit(main())
