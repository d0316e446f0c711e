import sys

from station.cli import main

if __name__ == "__main__":  # a spawned child process (the sim camera's renderer) imports this too
    sys.exit(main())
