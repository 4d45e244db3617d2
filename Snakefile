# GDyNets: graph dynamical networks for atomic-scale dynamics (Xie et al., 2019).
# `snakemake -c all` runs config/config.yaml (the toy system); see README.md.
import os

from snakemake.utils import min_version

min_version("9.0")

# Conda environments install the library from here (envs/*.post-deploy.sh).
os.environ.setdefault("GDYNET_SOURCE", workflow.basedir)


# The quickstart unless --configfile names another config (Snakemake would merge them).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


check_systems()  # every cross-key mistake stops here, before the first job


wildcard_constraints:
    system="|".join(SYSTEMS),
    model="gdynet|vampnet",
    k=r"\d+",
    tau=r"\d+(\.\d+)?",


include: "workflow/rules/data.smk"
include: "workflow/rules/featurize.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/koopman.smk"
include: "workflow/rules/toy.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        all_targets(),
    default_target: True
