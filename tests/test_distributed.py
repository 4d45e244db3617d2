"""Several processes (DDP, gloo on the CPU) learn exactly what one process learns.

VAMP-2 is a function of the batch covariances, so the ranks sum the covariances'
moments before the eigenproblem (gdynet.learn.distributed). Two ranks started by the
real launcher (torch.distributed.run, i.e. torchrun) must give the single-process
gradient of the same global batch to 1e-5, and a short fit must follow the single-process
one. The model runs in float64 here: in float32 the two sum in other orders and differ by
~1e-5 for that reason alone.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from distributed_case import BATCH, LAG, case, settings

from gdynet.learn import training
from gdynet.learn.vamp import vamp2_score

WORKER = Path(__file__).with_name("distributed_worker.py")

pytestmark = pytest.mark.slow


def two_ranks(mode, out):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           str(WORKER), mode, str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return torch.load(out, weights_only=False)


def test_two_processes_give_the_single_process_gradient(tmp_path):
    data, model = case()
    x = model(*data.batch(np.concatenate([BATCH, BATCH + LAG])))
    k, half = x.shape[-1], x.shape[0] // 2
    score = vamp2_score(x[:half].reshape(-1, k), x[half:].reshape(-1, k))
    (-score).backward()
    got = two_ranks("grad", tmp_path / "grad.pt")
    assert got["score"] == pytest.approx(float(score.detach()), rel=1e-12)
    for name, p in model.named_parameters():
        torch.testing.assert_close(got["grads"][name], p.grad, rtol=1e-5, atol=1e-12, msg=name)


def test_two_processes_train_the_same_model(tmp_path):
    data, model = case()
    single = training.fit(model, data, train_ranges=[(0, 300)], val_ranges=[(300, 400)], lag=LAG,
                          frame_interval_ps=1.0, settings=settings(), checkpoint=tmp_path / "one.ckpt")
    got = two_ranks("fit", tmp_path / "fit.pt")
    pd.testing.assert_frame_equal(got["metrics"], single.metrics.drop(columns="seconds"), rtol=1e-5)
    for name, value in single.net.state_dict().items():
        torch.testing.assert_close(got["state"][name], value, rtol=1e-5, atol=1e-9, msg=name)


def test_launch_commands_for_one_and_several_nodes():
    from gdynet.learn.distributed import launch_command

    assert launch_command("train.py", 4, python="py") == [
        "py", "-m", "torch.distributed.run", "--nproc-per-node=4", "--standalone", "train.py"]
    several = launch_command("train.py", 4, 2, python="py", head_node="gpu017")
    assert several[:3] == ["srun", "--nodes=2", "--ntasks-per-node=1"]
    assert "--nnodes=2" in several and "--rdzv-endpoint=gpu017:29500" in several
    assert several[-1] == "train.py"
    with pytest.raises(ValueError, match="head node"):
        launch_command("train.py", 4, 2)
