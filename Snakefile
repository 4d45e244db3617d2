# The entry point Snakemake finds in the project's root. The workflow itself is
# workflow/Snakefile, where the Snakemake workflow catalog and `module` users expect it; its
# `rule all` stays the default target here.
workflow.include("workflow/Snakefile", overwrite_default_target=True)
