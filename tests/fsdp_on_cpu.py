"""Run a script under FSDP on a CPU: what `accelerate launch --use_fsdp` does on a GPU machine, over gloo.

accelerate (1.15) turns a launch with `--use_fsdp` into FSDP only for accelerator devices; on a CPU it keeps
MULTI_CPU and trains plain DDP (`hfdistill.config.training` refuses that). PyTorch's FSDP2 itself shards over gloo on a CPU.
This wrapper sets the state that accelerate sets on a GPU (distributed type FSDP, the plugin it built from the
launch's environment) and lifts hfdistill's refusal, so that everything below runs for real: the sharded student
and teacher (`hfdistill.models.placement`), gloo's all-gathers and reduce-scatters, and the full state dict's save.

Usage: accelerate launch --use_fsdp --fsdp_version 2 --num_processes 2 tests/fsdp_on_cpu.py SCRIPT [ARGS...]
"""

import runpy
import sys

from accelerate.state import AcceleratorState, PartialState
from accelerate.utils import DistributedType

import hfdistill.config.training

_original_init = AcceleratorState.__init__


def _init_with_fsdp_on_cpu(self, *args, fsdp_plugin=None, **kwargs):
    _original_init(self, *args, fsdp_plugin=fsdp_plugin, **kwargs)
    if fsdp_plugin is not None and self.distributed_type == DistributedType.MULTI_CPU:
        self.distributed_type = DistributedType.FSDP
        self.fsdp_plugin = fsdp_plugin
        PartialState._shared_state["distributed_type"] = self.distributed_type  # as accelerate does on a GPU


AcceleratorState.__init__ = _init_with_fsdp_on_cpu
hfdistill.config.training.sharding_engines_available = lambda: True

if __name__ == "__main__":
    script, *sys.argv[1:] = sys.argv[1:]
    sys.argv[0] = script
    runpy.run_path(script, run_name="__main__")
