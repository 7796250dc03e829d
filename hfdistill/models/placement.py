"""Place a frozen teacher for inference the way the Accelerator's engine needs it.

- One device or DDP: moved to the student's device, never wrapped for gradient sync.
- DeepSpeed: its own inference engine; ZeRO-3 shards it like the student, other stages keep a full copy per rank
  (stage 0), since stages 1-2 only shard optimizer state and gradients, which a frozen model has none of.
- FSDP: sharded in units of its own transformer blocks, so that the student's sharded (DTensor) weights and the
  teacher's never mix in one forward pass and at most one block is gathered at a time.
"""

import copy
import functools
import logging

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedType
from transformers import PreTrainedModel

logger = logging.getLogger(__name__)


def prepare_teacher(
    teacher: PreTrainedModel, accelerator: Accelerator, dtype: torch.dtype | None = None
) -> torch.nn.Module:
    """Freeze `teacher` (evaluation mode, no gradients), cast it to `dtype` if given, and place it for inference."""
    teacher.eval().requires_grad_(False)
    if dtype is not None:
        teacher.to(dtype)
    mode = accelerator.distributed_type
    logger.info(
        "placing the teacher on %s (%s)",
        accelerator.device,
        "one process" if mode == DistributedType.NO else mode.value,
    )
    if accelerator.distributed_type == DistributedType.DEEPSPEED:
        return _deepspeed_inference_engine(teacher, accelerator)
    if accelerator.distributed_type == DistributedType.FSDP:
        return _fsdp_shard(teacher, accelerator)
    return accelerator.prepare_model(teacher, evaluation_mode=True)


def _deepspeed_inference_engine(teacher: PreTrainedModel, accelerator: Accelerator) -> torch.nn.Module:
    import deepspeed

    config = copy.deepcopy(accelerator.state.deepspeed_plugin.deepspeed_config)
    config.pop("optimizer", None)
    config.pop("scheduler", None)
    zero = config.setdefault("zero_optimization", {})
    if zero.get("stage") != 3:
        zero["stage"] = 0
    engine, *_ = deepspeed.initialize(model=teacher, config=config)
    engine.eval()
    return engine


def _fsdp_shard(teacher: PreTrainedModel, accelerator: Accelerator) -> torch.nn.Module:
    """Shard the teacher in units of its own transformer blocks (`_no_split_modules`), whatever policy wraps the
    student. The plugin is left alone: its policy is set from the student's classes when the student is prepared
    (setting it from the teacher's first would leave it naming BERT blocks a DistilBERT student lacks), and
    accelerate's FSDP2 preparation re-shards the word embeddings inside an already-sharded `BertEmbeddings`, which
    fails (accelerate 1.15)."""
    plugin = accelerator.state.fsdp_plugin
    blocks = {type(m) for m in teacher.modules() if type(m).__name__ in (teacher._no_split_modules or [])}
    if plugin.fsdp_version == 2:
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        mesh = getattr(accelerator, "torch_device_mesh", None)
        options = {
            "reshard_after_forward": plugin.reshard_after_forward,
            "offload_policy": plugin.cpu_offload,
            "mp_policy": plugin.mixed_precision_policy or MixedPrecisionPolicy(),
            "mesh": mesh[tuple(accelerator.parallelism_config.fsdp_dim_names)] if mesh is not None else None,
        }
        for module in reversed(list(teacher.modules())):  # bottom-up: a block before the blocks holding it
            if type(module) in blocks:
                fully_shard(module, **options)
        return fully_shard(teacher, **options)
    from torch.distributed.fsdp import FullyShardedDataParallel
    from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy

    return FullyShardedDataParallel(
        teacher,
        sharding_strategy=plugin.sharding_strategy or plugin.reshard_after_forward,
        cpu_offload=plugin.cpu_offload,
        auto_wrap_policy=functools.partial(transformer_auto_wrap_policy, transformer_layer_cls=blocks),
        mixed_precision=plugin.mixed_precision_policy,
        sync_module_states=plugin.sync_module_states,
        forward_prefetch=plugin.forward_prefetch,
        use_orig_params=plugin.use_orig_params,
        limit_all_gathers=plugin.limit_all_gathers,
        device_id=accelerator.device,
    )
