# Stage 3 and 4: train one model per (system, model, n_states k, lag τ), then predict the
# state probabilities χ of every test frame.


rule train:
    input:
        unpack(model_inputs),
        splits="results/{system}/splits.json",
    output:
        model=f"{MODEL_DIR}/model.pt",
        metrics=f"{MODEL_DIR}/metrics.csv",
        seeds=f"{MODEL_DIR}/seeds.csv",
    log:
        "logs/{system}/train/{model}_k{k}_tau{tau}ps.log",
    benchmark:
        "logs/{system}/benchmark/train/{model}_k{k}_tau{tau}ps.tsv"
    conda:
        TORCH_ENV
    threads: config["training"]["threads"]
    resources:
        gpu=config["training"]["gpus"],
        nodes=config["training"]["nodes"],
        mem_mb=model_mem_mb,
        runtime=train_runtime,
    params:
        model=model_args,
        train=train_args,
        checkpoint=lambda w: CHECKPOINT.format(**w),
    script:
        "../scripts/train.py"


rule predict:
    input:
        unpack(model_inputs),
        model=f"{MODEL_DIR}/model.pt",
        splits="results/{system}/splits.json",
    output:
        chi=f"{MODEL_DIR}/chi_test.npy",
    log:
        "logs/{system}/predict/{model}_k{k}_tau{tau}ps.log",
    conda:
        TORCH_ENV
    threads: config["training"]["threads"]
    resources:
        gpu=min(config["training"]["gpus"], 1),  # prediction runs on one device
        mem_mb=model_mem_mb,
        runtime=predict_runtime,
    script:
        "../scripts/predict.py"
