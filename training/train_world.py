"""Train regionclip's built-in model on the synthetic world and export it: the command line of the
training/regionclip_train package (README "Built-in model" has the commands; the recipes are
training/configs/*.json). `/usr/bin/python3 -m training.regionclip_train` from the repository root is the same."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from regionclip_train.main import main  # noqa: E402

if __name__ == "__main__":
    main()
