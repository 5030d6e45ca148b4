import sys

from seawatch.cli import main

sys.exit(main())
