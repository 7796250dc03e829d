"""Distil under `accelerate launch`, on one CPU or many GPUs.

    accelerate launch scripts/distill.py --config recipes/quickstart.yaml
    accelerate launch --multi_gpu --num_processes 2 scripts/distill.py --config recipes/quickstart.yaml --max_steps 20
    accelerate launch --config_file scripts/accelerate/deepspeed_zero3.yaml scripts/distill.py --config recipes/sst2.yaml

Every flag of `hfdistill distill --help` works here and overrides the recipe.
"""

import sys

from hfdistill.cli import main

if __name__ == "__main__":
    sys.exit(main(["distill", *sys.argv[1:]]))
