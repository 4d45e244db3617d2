"""One rank of tests/test_distributed.py, started by torchrun (torch.distributed.run).

    python -m torch.distributed.run --nproc-per-node 2 tests/distributed_worker.py MODE OUT

MODE grad: the gradient of -VAMP-2 of one global batch, each rank on its share;
MODE fit: a short fit(). Rank 0 saves what it got to OUT (torch.save).
"""

import sys

import numpy as np
import torch

from gdynet.learn import distributed, training
from gdynet.learn.vamp import vamp2_score

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from distributed_case import BATCH, LAG, case, settings  # noqa: E402

mode, out = sys.argv[1], sys.argv[2]
torch.set_num_threads(1)
device = distributed.init_from_environment("cpu")
rank, size = distributed.rank_and_size()
data, model = case()

if mode == "grad":
    net = torch.nn.parallel.DistributedDataParallel(model)
    mine = distributed.shard(BATCH, rank, size)
    x = net(*data.batch(np.concatenate([mine, mine + LAG])))
    k, half = x.shape[-1], x.shape[0] // 2
    score = vamp2_score(x[:half].reshape(-1, k), x[half:].reshape(-1, k), reduce=distributed.sum_over_ranks)
    (-score).backward()
    result = {"score": float(score.detach()), "grads": {n: p.grad for n, p in model.named_parameters()}}
else:
    trained = training.fit(model, data, train_ranges=[(0, 300)], val_ranges=[(300, 400)], lag=LAG,
                           frame_interval_ps=1.0, settings=settings(), checkpoint=out + ".ckpt")
    result = {"state": trained.net.state_dict(), "metrics": trained.metrics.drop(columns="seconds")}
if rank == 0:
    torch.save(result, out)
torch.distributed.destroy_process_group()
