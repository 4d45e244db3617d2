# The workflow's adapter: config in, plain arguments out.
#
# - validates the config against the schema, with short messages (defaults come from
#   the schema only);
# - knows each system's layout (trajectories, frames, atoms, cell) from its config and
#   from the files that exist when the DAG is built;
# - checks every cross-key constraint then, before the first job runs, naming the key
#   to change (`check_systems`);
# - gives every rule its paths, targets and plain arguments.
#
# The library (gdynet) speaks arrays, files and units; only this file speaks config.
import difflib
import importlib
import json
import math
from pathlib import Path

import jsonschema
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from gdynet.data import splits as gd_splits
from gdynet.data import trajectory as gd_trajectory
from gdynet.data.store import Segment
from gdynet.learn import memory as gd_memory

# ------------------------------------------------------------------------ config


def _short(error):
    """One line for a schema violation: where, what, and a spelling hint for unknown keys."""
    where = ".".join(str(p) for p in error.absolute_path) or "the top level"
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known))
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, known, n=1)
            hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        return f"{where}: unknown key {', '.join(hints)}; known keys: {', '.join(known)}"
    if error.validator == "oneOf":
        if not error.context:  # valid under more than one alternative
            required = [" + ".join(alt.get("required", [])) for alt in error.validator_value]
            return f"{where}: give exactly one of {', '.join(r for r in required if r)}"
        best = jsonschema.exceptions.best_match(error.context)
        return f"{where}: {best.message}"
    return f"{where}: {error.message}"


def validated(config, schema):
    """The config with the schema's defaults filled in, or a WorkflowError in a few lines."""
    try:
        validate(config, schema, set_default=True)
    except WorkflowError as err:
        causes = [a for a in err.args if isinstance(a, jsonschema.exceptions.ValidationError)]
        cause = causes[0] if causes else err.__context__
        if isinstance(cause, jsonschema.exceptions.ValidationError):
            raise WorkflowError(f"config: {_short(cause)} (see config/README.md)") from None
        raise
    return config


validated(config, "../schemas/config.schema.yaml")


# ------------------------------------------------------------------------ paths


SYSTEMS = config["systems"]
# The PyTorch build of the training and prediction jobs (with --software-deployment-method conda)
TORCH_ENV = "../../envs/torch-cuda.yaml" if config["training"]["gpus"] else "../../envs/torch.yaml"
MODEL_DIR = "results/{system}/{model}/k{k}/tau{tau}ps"
CHECKPOINT = "results/{system}/{model}/k{k}/tau{tau}ps/checkpoint.pt"  # not an output: survives a kill


def fmt(x):
    """Format a number for a path: 10 -> '10', 0.8 -> '0.8'."""
    return f"{x:g}"


def canonical(value):
    """A config value with its keys sorted, so that reordering a YAML file reruns nothing."""
    return json.loads(json.dumps(value, sort_keys=True))


def model_dirs(system, model, k):
    """{τ in ps: the folder of the model trained at τ}, by increasing τ."""
    lags = SYSTEMS[system]["models"][model]["lags_ps"]
    return {float(t): MODEL_DIR.format(system=system, model=model, k=k, tau=fmt(t)) for t in sorted(lags)}


def by_lag(system, model, k, name):
    """{τ in ps: that model's file `name`}: what scripts pick τ*'s file from."""
    return {tau: f"{d}/{name}" for tau, d in model_dirs(system, model, k).items()}


def model_runs(system):
    """Every (model, k) trained for a system."""
    return [(model, k) for model, cfg in SYSTEMS[system]["models"].items() for k in cfg["n_states"]]


def simulator(system):
    """The library module that simulates a system (gdynet.systems.<kind>.simulate)."""
    return importlib.import_module(f"gdynet.systems.{SYSTEMS[system]['simulate']['system']}.simulate")


def simulated(kind):
    """The systems simulated by the simulator `kind` (a wildcard constraint of its rule)."""
    names = [
        s for s, cfg in SYSTEMS.items() if cfg["source"] == "simulate" and cfg["simulate"]["system"] == kind
    ]
    return "|".join(names) or "(?!)"  # no system: a pattern that matches nothing


def analysed(name):
    """The systems that list the analysis `name` (a wildcard constraint of its rules)."""
    return "|".join(s for s in SYSTEMS if name in analyses(s)) or "(?!)"


def simulate_args(system):
    """The simulator's arguments: the config's simulate block without its `system` key."""
    cfg = SYSTEMS[system]
    return canonical({k: v for k, v in cfg["simulate"].items() if k != "system"})


def trajectory_names(system):
    """The segment names of a system's trajectories (their file stems), known from the config."""
    cfg = SYSTEMS[system]
    if cfg["source"] == "simulate":
        return list(layout(system).names)
    if cfg["source"] == "download":
        return [Path(n).stem for n in cfg["download"]["files"]]
    if cfg["source"] == "import":
        return imported_names(system)
    return [Path(p).stem for p in cfg["files"]]


def trajectory_files(system):
    """The system's trajectory files in the project's npz format (the frame store's input)."""
    cfg = SYSTEMS[system]
    if cfg["source"] == "download":
        return [f"resources/{system}/verified/{name}" for name in cfg["download"]["files"]]
    if cfg["source"] == "import":
        return [f"resources/{system}/imported/{name}.npz" for name in imported_names(system)]
    if cfg["source"] == "files":
        return list(cfg["files"])
    return [f"resources/{system}/simulated/{name}.npz" for name in trajectory_names(system)]


def trajectory_inputs(w):
    """prepare_frames' input: the toy's simulated folder (one LAMMPS run writes every walker),
    or the trajectory files (one simulation job, download or import each)."""
    cfg = SYSTEMS[w.system]
    if cfg["source"] == "simulate" and cfg["simulate"]["system"] == "toy":
        return f"resources/{w.system}/simulated"
    return trajectory_files(w.system)


def imported_names(system):
    """Segment names of imported trajectories: their file names without the extension."""
    return [Path(p).stem for p in SYSTEMS[system]["import"]["trajectories"]]


def imported_trajectory(w):
    return SYSTEMS[w.system]["import"]["trajectories"][imported_names(w.system).index(w.name)]


def frames(system="{system}"):
    return multiext(f"results/{system}/frames/", "coords.npy", "lattices.npy", "meta.json")


def graphs(system="{system}"):
    return multiext(f"results/{system}/graphs/", "nbr_idx.npy", "nbr_dist.npy", "meta.json")


def analyses(system):
    return SYSTEMS[system].get("analyses", [])


def model_inputs(w):
    """GDyNet reads graphs; the vanilla VAMPnet reads the target coordinates."""
    data = graphs(w.system) if w.model == "gdynet" else frames(w.system)
    return {"data": data, "meta": f"results/{w.system}/frames/meta.json"}


# The final outputs of each system-specific analysis: its rule file registers a function
# system -> [paths] under the analysis's name (the `analyses` config key).
ANALYSIS_TARGETS = {}
ANALYSIS_KINDS = ("toy", "interface", "electrolyte")  # the schema's analyses enum


def koopman_panel(system, letter):
    """The name of a Koopman figure's panel d, e or f: Fig. 3 for the interface, Fig. 4
    for the electrolyte (the paper's panels); 'koopman' for every other system."""
    for analysis, figure_number in (("interface", 3), ("electrolyte", 4)):
        if analysis in analyses(system):
            return f"fig{figure_number}{letter}"
    return "koopman"


def koopman_targets(system, model, k):
    """The system-independent Koopman outputs of one (model, k): figures and summary.csv."""
    names = [
        f"{koopman_panel(system, letter)}_{what}_{model}_k{k}"
        for letter, what in (("d", "timescales"), ("e", "eigenvectors"), ("f", "ck"))
    ]
    names += [f"populations_{model}_k{k}", f"training_{model}_k{k}"]
    return [*figure_files(system, *names), f"results/{system}/{model}/k{k}/summary.csv"]


def all_targets():
    targets = ["results/config.json"]
    for system in SYSTEMS:
        for model, k in model_runs(system):
            targets.append(f"results/{system}/{model}/k{k}/tau_star.json")
            targets += koopman_targets(system, model, k)
            # every trained model too: a failed forced rerun must not leave a hole
            for d in model_dirs(system, model, k).values():
                targets += [f"{d}/model.pt", f"{d}/metrics.csv"]
        for name in analyses(system):
            targets += ANALYSIS_TARGETS[name](system)
    return targets


def frame_targets(w):
    """prepare_frames' target override: the interface analysis chooses the targets itself."""
    return f"results/{w.system}/analysis/targets.json" if "interface" in analyses(w.system) else []


def interface_models(system):
    """The GDyNet state counts whose interface figures are drawn, and the one validated."""
    ks = sorted(SYSTEMS[system]["models"]["gdynet"]["n_states"])
    chosen = SYSTEMS[system]["interface"]["n_states"]
    return ks, (max(ks) if chosen is None else chosen)


def interface_chi(w):
    """{τ in ps: chi_test.npy} of the GDyNet model with k states (τ* is picked in the script)."""
    return by_lag(w.system, "gdynet", w.k, "chi_test.npy")


def figure_files(system, *names):
    """The PNG and PDF of each named figure of a system."""
    return [f"results/{system}/figures/{name}.{ext}" for name in names for ext in ("png", "pdf")]


def figure(name, caption):
    return report(
        multiext(f"results/{{system}}/figures/{name}", ".png", ".pdf"),
        caption=f"../report/{caption}.rst",
        category="Figures",
        subcategory="{system}",
    )


# ------------------------------------------------------------------------ arguments


def system_cfg(*keys):
    """Params function: the system's config value at `keys`, in canonical form."""

    def lookup(w):
        value = SYSTEMS[w.system]
        for key in keys:
            value = value[key]
        return canonical(value)

    return lookup


def model_args(w):
    """The network, by name, and its hyperparameters (what defines the trained model)."""
    train = config["training"]
    hyper = dict(train[w.model], n_states=int(w.k))
    if w.model == "gdynet":
        hyper["radius_A"] = SYSTEMS[w.system]["graph"]["radius_A"]
    return canonical({"kind": w.model, "hyper": hyper})


def train_args(w):
    """The TrainSettings of gdynet.learn.training (device and CK horizon are not among them)."""
    train = config["training"]
    keys = (
        "epochs",
        "steps_per_epoch",
        "batch_pairs",
        "learning_rate",
        "seed",
        "memory_budget_gb",
        "val_pairs",
        "precision",
    )
    out = {key: train[key] for key in keys}
    if train["seeds"] > 1:  # one seed: the same model as before seeds existed
        out["seeds"] = train["seeds"]
    return canonical(out)


def koopman_args(w):
    """The Koopman settings that change a model's analysis (not the τ* override)."""
    cfg = SYSTEMS[w.system]["koopman"]
    return canonical({key: cfg[key] for key in ("lags_ps", "ci_scheme", "ci_groups", "ck_steps")})


def tau_star_inputs(name, models=(("gdynet", 2), ("vampnet", 2))):
    """Inputs of a figure that compares models at their τ*: each model's tau_star.json and files."""

    def inputs(w):
        out = {}
        for model, k in models:
            out[f"{model}_tau_star"] = f"results/{w.system}/{model}/k{k}/tau_star.json"
            out[model] = list(by_lag(w.system, model, k, name).values())
        return out

    return inputs


def tau_star_files(name, models=(("gdynet", 2), ("vampnet", 2))):
    """Params of the same figure: {model: {τ: file}}, to pick the file of τ*."""
    return lambda w: {model: by_lag(w.system, model, k, name) for model, k in models}


def at_tau_star(name):
    """Inputs that read one file of every lag and pick τ*'s (tau_star.json and the files)."""

    def inputs(w):
        return {
            "tau_star": f"results/{w.system}/{w.model}/k{w.k}/tau_star.json",
            "files": list(by_lag(w.system, w.model, w.k, name).values()),
        }

    return inputs


def lag_files(name):
    return lambda w: by_lag(w.system, w.model, w.k, name)


def tau_star_override(system, model):
    """The configured τ* of a model (ps), or None to choose it automatically."""
    value = SYSTEMS[system]["koopman"].get("tau_star_ps")
    return value.get(model) if isinstance(value, dict) else value


def temperature(system):
    """The system's temperature, K: systems.<s>.temperature_K, else its simulation's."""
    cfg = SYSTEMS[system]
    if "temperature_K" in cfg:
        return cfg["temperature_K"]
    return cfg.get("simulate", {}).get("temperature_K") if cfg["source"] == "simulate" else None


def electrolyte_args(system, *keys):
    """Some electrolyte analysis settings (systems.<s>.electrolyte; `temperature_K` too),
    with the ion charges keyed by atomic number: only what defines a rule's output."""
    cfg = canonical(SYSTEMS[system]["electrolyte"])
    cfg["ion_charges"] = {int(z): float(q) for z, q in cfg["ion_charges"].items()}
    cfg["temperature_K"] = temperature(system)
    return {key: cfg[key] for key in keys}


def electrolyte_k(system):
    """The number of states of the GDyNet that the electrolyte analysis reads."""
    return SYSTEMS[system]["electrolyte"]["n_states"]


def learned_states(w):
    """The analysed GDyNet's τ* and its test-set χ at every trained lag (the script picks τ*)."""
    k = electrolyte_k(w.system)
    return {
        "tau_star": f"results/{w.system}/gdynet/k{k}/tau_star.json",
        "chi": list(by_lag(w.system, "gdynet", k, "chi_test.npy").values()),
    }


def learned_chi(w):
    """{τ in ps: chi_test.npy}: the params from which a script picks the file of τ*."""
    return by_lag(w.system, "gdynet", electrolyte_k(w.system), "chi_test.npy")


def electrolyte_seed(w):
    """The seed of one simulated electrolyte trajectory, from its name (seed-001, ...)."""
    seeds = SYSTEMS[w.system]["simulate"]["seeds"]
    return seeds[list(layout(w.system).names).index(w.name)]


# ------------------------------------------------------------------------ checks


def layout(system):
    """The system's gdynet.data.trajectory.Layout from what is known now.

    Simulated systems: from their config. Files, downloads and imports: from the npz
    headers once every file exists; before that only the names are known, and the
    checks that need frame counts run in the jobs instead.
    """
    cfg = SYSTEMS[system]
    if cfg["source"] == "simulate":
        return simulator(system).layout(**simulate_args(system), frame_interval_ps=cfg["frame_interval_ps"])
    paths = trajectory_files(system)
    if cfg["source"] == "download":  # a copy placed by hand counts as well
        paths = [p if Path(p).exists() else f"resources/{system}/download/{Path(p).name}" for p in paths]
    if all(Path(p).is_file() for p in paths):
        try:
            return gd_trajectory.layout_of(paths)
        except ValueError as err:  # the job that reads the file reports it in full
            raise WorkflowError(f"systems.{system}: {err}") from None
    return gd_trajectory.Layout(names=tuple(trajectory_names(system)))


def frame_interval(system, lay):
    """ps per frame, or None while it follows from trajectory_ns and unknown frame counts."""
    cfg = SYSTEMS[system]
    if "frame_interval_ps" in cfg:
        return cfg["frame_interval_ps"]
    return cfg["trajectory_ns"] * 1000.0 / lay.n_frames[0] if lay.n_frames else None


def _problems(system):
    """Every cross-key mistake of one system's config: a list of messages naming the keys."""
    cfg, key = SYSTEMS[system], f"systems.{system}"
    out = []

    def check(name, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as err:
            out.append(f"{key}.{name}: {err}")

    # each system analysis writes results/<system>/analysis/ (validation.json among them)
    if len(analyses(system)) > 1:
        out.append(
            f"{key}.analyses lists {analyses(system)}: a system is one of {', '.join(ANALYSIS_KINDS)}; "
            "keep one, or give the same trajectories a second system entry"
        )

    # user paths: Snakemake reads braces as wildcards
    paths = {"files": cfg.get("files", [])}
    if cfg["source"] == "import":
        paths["import.trajectories"] = cfg["import"]["trajectories"]
        paths["import.topology"] = [cfg["import"]["topology"]] if cfg["import"].get("topology") else []
    for name, values in paths.items():
        for p in values:
            if "{" in p or "}" in p:
                out.append(
                    f"{key}.{name}: '{p}' contains braces, which Snakemake reads as "
                    "wildcards; rename the file or link it under a name without {{ }}"
                )
    if "toy" in analyses(system):  # Fig. 2 and Supp. Fig. 1 compare these models
        for model, k in [("gdynet", 2), ("vampnet", 2), ("vampnet", 8)]:
            if k not in cfg["models"].get(model, {}).get("n_states", []):
                out.append(
                    f"{key}.analyses lists 'toy', which needs {key}.models.{model}.n_states "
                    f"to include {k} (Fig. 2, Supp. Fig. 1)"
                )
    if "electrolyte" in analyses(system):  # Figs. 4-5 analyse one GDyNet at a temperature
        k = cfg["electrolyte"]["n_states"]
        if k not in cfg["models"]["gdynet"]["n_states"]:
            out.append(
                f"{key}.electrolyte.n_states: {k} is not among {key}.models.gdynet.n_states "
                f"{cfg['models']['gdynet']['n_states']}; train it or analyse one of them"
            )
        if temperature(system) is None:
            out.append(
                f"{key}.analyses lists 'electrolyte', whose conductivity (Eq. 15) needs "
                f"{key}.temperature_K; give the simulation temperature in K"
            )
        missing = set(map(int, cfg["electrolyte"]["ion_charges"])) - set(cfg["electrolyte"]["rdf_elements"])
        if missing:
            out.append(
                f"{key}.electrolyte.rdf_elements: add {sorted(missing)}: the charge integral "
                "(Supp. Note 3) counts every ion of electrolyte.ion_charges from the RDFs"
            )
    if "interface" in analyses(system):
        icfg, ks = cfg["interface"], cfg["models"]["gdynet"]["n_states"]
        if icfg["n_states"] is not None and icfg["n_states"] not in ks:
            out.append(
                f"{key}.interface.n_states: {icfg['n_states']} is not trained "
                f"({key}.models.gdynet.n_states = {ks}); choose one of them or null"
            )
        if icfg["order"]["min_bonds"] > icfg["order"]["n_neighbors"]:
            out.append(
                f"{key}.interface.order.min_bonds: {icfg['order']['min_bonds']} bonds of "
                f"{icfg['order']['n_neighbors']} neighbours can never be crystalline; use "
                "at most n_neighbors (diamond q3: 3 of 4, FCC q6: 7 of 12)"
            )
    names = trajectory_names(system)
    if len(set(names)) != len(names):
        out.append(
            f"{key}: the trajectory file names {names} repeat; each trajectory becomes a "
            "segment named after its file, so rename the files"
        )

    lay = layout(system)
    dt = frame_interval(system, lay)
    split = cfg["split"]
    mode = split.get("mode", "fractions")
    n_test = len(split["test"]) if mode == "trajectory" else len(names)

    # lags must be whole numbers of frames
    lags = {}
    if dt is not None:
        for model, mcfg in cfg["models"].items():
            lags[model] = [
                check(f"models.{model}.lags_ps", gd_splits.to_frames, t, dt) for t in mcfg["lags_ps"]
            ]
        grid = [
            check("koopman.lags_ps", gd_splits.to_frames, t, dt, "Koopman lag time")
            for t in cfg["koopman"]["lags_ps"]
        ]

    # τ* override: one of the trained lags
    for model, mcfg in cfg["models"].items():
        tau = tau_star_override(system, model)
        if tau is not None and not any(math.isclose(tau, t) for t in mcfg["lags_ps"]):
            out.append(
                f"{key}.koopman.tau_star_ps: {tau:g} ps was never trained for {model} "
                f"(models.{model}.lags_ps = {mcfg['lags_ps']}); choose one of them or null"
            )

    # confidence intervals
    ci, groups = cfg["koopman"]["ci_scheme"], cfg["koopman"]["ci_groups"]
    if ci == "segments" and n_test < 2:
        out.append(
            f"{key}.koopman.ci_scheme: 'segments' makes one confidence group per test "
            f"trajectory, but the test split has {n_test}; give at least two trajectories "
            "or use time_chunks (or target_subsets)"
        )
    if ci == "target_subsets" and lay.n_targets is not None and lay.n_targets < groups:
        out.append(
            f"{key}.koopman.ci_groups: {groups} target subsets need at least {groups} "
            f"targets, the system has {lay.n_targets}; use fewer groups or time_chunks"
        )

    # splits, and lags against them
    if mode == "trajectory":
        for part in ("train", "val", "test"):
            unknown = [n for n in split.get(part) or [] if n not in names]
            if unknown:
                out.append(
                    f"{key}.split.{part}: {unknown} are not trajectories of this system; "
                    f"its trajectories are {names}"
                )
    if lay.n_frames is not None and dt is not None:
        starts = [0]
        for n in lay.n_frames:
            starts.append(starts[-1] + n)
        segments = [Segment(n, a, b) for n, a, b in zip(lay.names, starts, starts[1:])]
        ranges = check("split", gd_splits.make, segments, dt, split)
        if ranges is not None:
            for model, frames_list in lags.items():
                for t, lag in zip(cfg["models"][model]["lags_ps"], frames_list):
                    if lag is None:
                        continue
                    for part in ("train", "val"):
                        check(f"models.{model}.lags_ps", gd_splits.check_lag, ranges[part], lag, part, dt)
                    check(
                        "koopman.ck_steps",
                        gd_splits.check_lag,
                        ranges["test"],
                        lag * cfg["koopman"]["ck_steps"],
                        "test",
                        dt,
                        f"CK horizon ({t:g} ps x ck_steps {cfg['koopman']['ck_steps']})",
                    )
            for t, lag in zip(cfg["koopman"]["lags_ps"], grid):
                if lag is not None:
                    check(
                        "koopman.lags_ps",
                        gd_splits.check_lag,
                        ranges["test"],
                        lag,
                        "test",
                        dt,
                        "Koopman lag time",
                    )
            if ci == "time_chunks":
                short = min(b - a for a, b in ranges["test"])
                if short < groups:
                    out.append(
                        f"{key}.koopman.ci_groups: a test range of {short} frames cannot "
                        f"be cut into {groups} time chunks; use fewer groups"
                    )

    # graphs: the M-th neighbour must lie inside the edge features' range
    if lay.n_atoms is not None and lay.volume_A3:
        m, radius = cfg["graph"]["n_neighbors"], cfg["graph"]["radius_A"]
        r_m = (3 * (m + 1) * lay.volume_A3 / (4 * math.pi * lay.n_atoms)) ** (1 / 3)
        if r_m > radius:
            m_max = int(4 / 3 * math.pi * radius**3 * lay.n_atoms / lay.volume_A3) - 1
            out.append(
                f"{key}.graph.n_neighbors: the {m}-th neighbour lies about {r_m:.1f} Å "
                f"away at this system's density ({lay.n_atoms} atoms in "
                f"{lay.volume_A3:.0f} Å^3), beyond graph.radius_A = {radius:g} Å, where "
                f"the edge features (Eq. 7) vanish; use n_neighbors <= ~{max(m_max, 1)} "
                "or a larger radius_A"
            )
        # memory: even the smallest useful training step must fit the budget
        train = config["training"]
        if "gdynet" in cfg["models"] and lay.n_targets:
            g = train["gdynet"]
            step = (
                2
                * gd_memory.smallest_step(lay.n_targets)
                * gd_memory.gdynet_bytes_per_frame(
                    lay.n_atoms, m, g["atom_fea_len"], g["n_conv"], round(radius / 0.2) + 1, train=True
                )
            )
            budget = train["memory_budget_gb"] * 2**30
            if step > budget:
                out.append(
                    f"{key}: one GDyNet training step needs about {step / 2**30:.1f} GiB "
                    f"({lay.n_atoms} atoms x {m} neighbours, atom_fea_len {g['atom_fea_len']}, "
                    f"n_conv {g['n_conv']}), more than training.memory_budget_gb = "
                    f"{train['memory_budget_gb']:g}; raise it (on a GPU: its memory), or lower "
                    f"{key}.graph.n_neighbors, training.gdynet.atom_fea_len or n_conv"
                )
    return out


def check_systems():
    """Stop before the first job if any system's config is inconsistent (all problems at once)."""
    problems = list(dict.fromkeys(p for system in SYSTEMS for p in _problems(system)))
    if problems:
        raise WorkflowError(
            "config: "
            + (
                "\n  ".join(["the configuration has problems:"] + problems)
                if len(problems) > 1
                else problems[0]
            )
        )


# ------------------------------------------------------------------------ resources
# What each job needs, from the config and the system's size; profiles only map it to a
# cluster. Estimates, sized for the machine that the config describes: a retry (attempt 2,
# 3, ...) asks for proportionally more time and memory. Before a download the system's
# size is unknown: then the paper's scale (5,000 atoms, 40,000 frames) is assumed.


def system_size(system):
    """(atoms, frames) of a system as far as known, else the paper's scale."""
    lay = layout(system)
    return lay.n_atoms or 5000, sum(lay.n_frames) if lay.n_frames else 40_000


def featurize_runtime(wildcards, attempt):
    """Minutes: the graph builder does about 2e5 atom-frames/s per thread (benchmarks/scale.py)."""
    atoms, n_frames = system_size(wildcards.system)
    return attempt * (10 + math.ceil(atoms * n_frames / (2e5 * 2) / 60))


def model_mem_mb(wildcards, attempt):
    """MB of host memory of a train or predict job: the process, a batch being read, and on
    the CPU the network's working memory (training.memory_budget_gb)."""
    train = config["training"]
    budget = 0 if train["gpus"] else train["memory_budget_gb"] * 1024
    return attempt * int(3000 + budget)


def train_runtime(wildcards, attempt):
    """Minutes: edge-convolutions of every step at ~2e8/s on a CPU, ~1e10/s on a GPU."""
    train, graph = config["training"], SYSTEMS[wildcards.system]["graph"]
    atoms, _ = system_size(wildcards.system)
    lay = layout(wildcards.system)
    targets = lay.n_targets or 100
    pairs = min(math.ceil(train["batch_pairs"] / targets), 512)
    work = train["epochs"] * train["steps_per_epoch"] * 2 * pairs * atoms * graph["n_neighbors"]
    work *= train["gdynet"]["n_conv"] * train["gdynet"]["atom_fea_len"] * 3  # forward + backward
    rate = 1e10 * max(train["gpus"], 1) if train["gpus"] else 2e8
    return attempt * (15 + math.ceil(work / rate / 60))


def predict_runtime(wildcards, attempt):
    train, graph = config["training"], SYSTEMS[wildcards.system]["graph"]
    atoms, n_frames = system_size(wildcards.system)
    work = (
        n_frames * atoms * graph["n_neighbors"] * train["gdynet"]["n_conv"] * train["gdynet"]["atom_fea_len"]
    )
    rate = 1e10 if train["gpus"] else 2e8
    return attempt * (10 + math.ceil(work / rate / 60))
