"""vLLM tensor parallelism in colocate mode on 2 GPUs (GPU-only, run by test_vllm.py):

    python -m torch.distributed.run --nproc_per_node 2 tests/dist_vllm_tp.py MODEL DATA OUT.json

Both processes share one vLLM (tensor_parallel_size=2); each brings its own prompts, the
engine pools them inside the group and hands each process back its own rows, whose
log-probs must match the training forward's.
"""

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_vllm import SAMPLING, hf_logprobs, make_engine  # noqa: E402

from gpg_vl.data.loading import load_records  # noqa: E402

torch.distributed.init_process_group("nccl")
rank = torch.distributed.get_rank()
torch.cuda.set_device(rank)
model_path, data, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
eng, model, processor, collate, suppress = make_engine(model_path, tensor_parallel_size=2, dtype="bfloat16",
                                                      gpu_memory_utilization=0.2, sleep=False)
model.cuda()
records = load_records(data)[rank::2]  # different prompts on each process
prompts = collate(records)
batch = eng.generate(prompts, 2, SAMPLING)
lp = batch.sampling_logprobs
assert [r.id for r in batch.prompts.records] == [r.id for r in records]
lp_hf, mask = hf_logprobs(model, batch, suppress)
diff = torch.tensor([((lp[:, :mask.shape[1]].cuda() - lp_hf).abs() * mask).max().item()], device="cuda")
torch.distributed.all_reduce(diff, op=torch.distributed.ReduceOp.MAX)
if rank == 0:
    out.write_text(json.dumps({"max_abs_diff": diff.item()}))
torch.distributed.barrier()
torch.distributed.destroy_process_group()
