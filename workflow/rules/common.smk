# Shared helpers: config lookups, paths and target lists.
import json
from pathlib import Path


SYSTEMS = config["systems"]
RESULTS = "results/{system}"
MODEL_DIR = "results/{system}/{model}/k{k}/tau{tau}ps"
CHECKPOINT = "results/{system}/{model}/k{k}/tau{tau}ps/checkpoint.pt"  # not an output: survives a kill


def fmt(x):
    """Format a number for a path: 10 -> '10', 0.8 -> '0.8'."""
    return f"{x:g}"


def canonical(value):
    """A config value with its keys sorted, so that reordering a YAML file reruns nothing."""
    return json.loads(json.dumps(value, sort_keys=True))


def system_cfg(*keys):
    """Params function: the system's config value at `keys`, in canonical form."""

    def lookup(w):
        value = SYSTEMS[w.system]
        for key in keys:
            value = value[key]
        return canonical(value)

    return lookup


def model_cfg(w):
    return SYSTEMS[w.system]["models"][w.model]


def model_dirs(system, model, k):
    lags = SYSTEMS[system]["models"][model]["lags_ps"]
    return [MODEL_DIR.format(system=system, model=model, k=k, tau=fmt(t)) for t in lags]


def model_runs(system):
    """Every (model, k) trained for a system."""
    return [
        (model, k)
        for model, cfg in SYSTEMS[system]["models"].items()
        for k in cfg["n_states"]
    ]


def trajectory_inputs(w):
    """The system's trajectory files (a folder of them for the simulated toy system)."""
    cfg = SYSTEMS[w.system]
    if cfg["source"] == "simulate":
        return f"resources/{w.system}/simulated"
    if cfg["source"] == "download":
        return [f"resources/{w.system}/verified/{name}" for name in cfg["download"]["files"]]
    if cfg["source"] == "import":
        return [f"resources/{w.system}/imported/{name}.npz" for name in imported_names(w.system)]
    return cfg["files"]


def download_cfg(key, default):
    return lambda w: SYSTEMS[w.system]["download"].get(key, default)


def import_cfg(key, default=None):
    return lambda w: SYSTEMS[w.system]["import"].get(key, default)


def imported_names(system):
    """Segment names of imported trajectories: their file names without the extension."""
    names = [Path(p).stem for p in SYSTEMS[system]["import"]["trajectories"]]
    if len(set(names)) != len(names):
        raise ValueError(
            f"config: systems.{system}.import.trajectories: the file names {names} repeat; "
            "each trajectory becomes a segment named after its file, so rename the files"
        )
    return names


def imported_trajectory(w):
    return SYSTEMS[w.system]["import"]["trajectories"][imported_names(w.system).index(w.name)]


def frames(system="{system}"):
    return multiext(f"results/{system}/frames/", "coords.npy", "lattices.npy", "meta.json")


def graphs(system="{system}"):
    return multiext(f"results/{system}/graphs/", "nbr_idx.npy", "nbr_dist.npy", "meta.json")


def analyses(system):
    return SYSTEMS[system].get("analyses", [])


def all_targets():
    targets = []
    for system in SYSTEMS:
        for model, k in model_runs(system):
            targets.append(f"results/{system}/{model}/k{k}/tau_star.json")
        if "toy" in analyses(system):
            targets += toy_targets(system)
    return targets


def model_inputs(w):
    """GDyNet reads graphs; the vanilla VAMPnet reads the target coordinates."""
    data = graphs(w.system) if w.model == "gdynet" else frames(w.system)
    return {"data": data, "meta": f"results/{w.system}/frames/meta.json"}


def hyperparameters(w):
    train = config["training"]
    return canonical({
        "n_states": int(w.k),
        "lag_ps": float(w.tau),
        "radius_A": SYSTEMS[w.system]["graph"]["radius_A"],
        **train[w.model],
        **{key: train[key] for key in ("epochs", "steps_per_epoch", "batch_size",
                                       "learning_rate", "seed")},
    })


def koopman_params(w):
    """The Koopman settings that change a model's analysis (not the τ* override)."""
    cfg = SYSTEMS[w.system]["koopman"]
    return canonical({key: cfg[key] for key in ("lags_ps", "ci_scheme", "ci_groups", "ck_steps")})


def model_files(system, model, k, name):
    return [f"{d}/{name}" for d in model_dirs(system, model, k)]


def toy_targets(system):
    models = SYSTEMS[system]["models"]
    for model, k in [("gdynet", 2), ("vampnet", 2), ("vampnet", 8)]:
        if k not in models.get(model, {}).get("n_states", []):
            raise ValueError(
                f"config: systems.{system}.analyses lists 'toy', which needs "
                f"systems.{system}.models.{model}.n_states to include {k} (Fig. 2, Supp. Fig. 1)"
            )
    figures = [
        "fig2b_timescales",
        "fig2c_states",
        "fig2d_ck",
        "supp_fig1_vampnet8_timescales",
    ]
    return [f"results/{system}/analysis/validation.json"] + [
        f"results/{system}/figures/{name}.{ext}" for name in figures for ext in ("png", "pdf")
    ]


def figure(name, caption):
    return report(
        multiext(f"results/{{system}}/figures/{name}", ".png", ".pdf"),
        caption=f"../report/{caption}.rst",
        category="Figures",
        subcategory="{system}",
    )
