"""The npz route (source: files) end to end on a tiny own-data config that is not the toy:
three trajectories, a triclinic cell, four targets, 2 and 3 states, two seeds, no VAMPnet. Every
system-independent Koopman output must be there, and in the report."""

import json

import numpy as np
import pandas as pd
import pytest
from synthetic import write_hopping_traj
from test_workflow import ROOT, snakemake

CONFIG = ROOT / ".test" / "config" / "own-data.yaml"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("own")
    (work / "data").mkdir()
    for seed, name in enumerate("abc"):
        write_hopping_traj(work / "data" / f"run-{name}.npz", seed=seed + 1)
    snakemake(work, config=CONFIG)
    return work


def test_every_koopman_output_is_made(own_run):
    figures = own_run / "results" / "hopper" / "figures"
    for k in (2, 3):
        for name in (f"koopman_timescales_gdynet_k{k}", f"koopman_eigenvectors_gdynet_k{k}",
                     f"koopman_ck_gdynet_k{k}", f"populations_gdynet_k{k}", f"training_gdynet_k{k}"):
            for ext, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF")):
                assert (figures / f"{name}{ext}").read_bytes()[:4] == magic, name
        summary = pd.read_csv(own_run / "results" / "hopper" / "gdynet" / f"k{k}" / "summary.csv")
        counts = summary["quantity"].value_counts()
        assert counts["timescale"] == k - 1 and counts["population"] == k
        assert counts["tau_star"] == 1 and counts["val_vamp2_best"] == 1
        pop = summary[summary.quantity == "population"]
        assert pop["value"].sum() == pytest.approx(100, abs=1e-6)
        tau = summary.loc[summary.quantity == "tau_star", "value"].iloc[0]
        assert tau in (0.2, 0.5)
        # two seeds per model: the one kept is the better on validation VAMP-2
        for tau in ("0.2", "0.5"):
            d = own_run / "results" / "hopper" / "gdynet" / f"k{k}" / f"tau{tau}ps"
            table = pd.read_csv(d / "seeds.csv")
            runs = table[table.seed.astype(str) != "spread"]
            assert len(runs) == 2 and (table.seed.astype(str) == "spread").sum() == 1
            kept = runs[runs.chosen].iloc[0]
            assert kept.val_vamp2 == runs.val_vamp2.max()
            assert pd.read_csv(d / "metrics.csv").val_vamp2.max() == pytest.approx(kept.val_vamp2)
        assert summary.loc[summary.quantity == "seeds", "value"].iloc[0] == 2
    config = json.loads((own_run / "results" / "config.json").read_text())
    assert config["systems"]["hopper"]["source"] == "files"
    assert config["training"]["vampnet"]["hidden"]  # the schema's default, not required


def test_report_shows_the_figures_the_tables_and_the_config(own_run):
    snakemake(own_run, "--report", "report.html", config=CONFIG)
    html = (own_run / "report.html").read_text(errors="replace")
    for name in ("koopman_timescales_gdynet_k3.png", "koopman_eigenvectors_gdynet_k3.png",
                 "koopman_ck_gdynet_k3.png", "populations_gdynet_k3.png",
                 "training_gdynet_k3.png", "summary.csv", "config.json"):
        assert name in html, name
