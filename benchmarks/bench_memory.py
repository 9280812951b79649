"""Same as `minilat bench memory`; options as there (`--help`)."""

import sys

from sim.cli import main

if __name__ == "__main__":
    sys.argv = ["minilat", "bench", "memory", *sys.argv[1:]]
    main()
