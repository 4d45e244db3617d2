"""GDyNets: graph dynamical networks for atomic-scale dynamics (Xie et al., 2019).

The library behind the Snakemake workflow. Modules hold pure functions and small
classes; nothing here imports Snakemake.
"""
