"""Same as `minilat bench`; options as there (`--help`)."""

import sys

from sim.cli import main

if __name__ == "__main__":
    sys.argv = ["minilat", "bench", *sys.argv[1:]]
    main()
