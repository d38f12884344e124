"""``python -m icipredict.cli``: the same as the ``icipredict`` console script."""

import sys

from icipredict.cli.parser import main

if __name__ == "__main__":
    sys.exit(main())
