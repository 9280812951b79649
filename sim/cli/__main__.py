"""`python -m sim.cli`: the `minilat` command."""

from sim.cli import main

if __name__ == "__main__":
    main()
