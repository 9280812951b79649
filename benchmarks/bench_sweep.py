"""Same as `minilat bench sweep`; options as there (`--help`)."""

import sys

from sim.cli import main

if __name__ == "__main__":
    sys.argv = ["minilat", "bench", "sweep", *sys.argv[1:]]
    main()
