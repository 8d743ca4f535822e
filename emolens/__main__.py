"""``python -m emolens``."""

import os
import sys

from emolens.cli import QUICK_EXIT, main

if __name__ == "__main__":
    QUICK_EXIT["allowed"] = True
    status = main()
    if QUICK_EXIT.get("now"):
        # the output is written; skip freeing the decoded archive object by object (see columnar.wide_csv_bytes)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)
