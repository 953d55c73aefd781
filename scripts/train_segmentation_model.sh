#!/usr/bin/env bash
# Reproduce the bundled segmentation model nuclei-seg-2d and the figures of its card.
# Run from the repository root after `make install`; one thread per process. CPU time on
# the shared 2-core machine: see src/synthscope/models/nuclei-seg-2d/card.md.
set -euo pipefail
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
BIN=.venv/bin
RUNS=runs/segdefault
MODEL=src/synthscope/models/nuclei-seg-2d

# 1. Synthetic training data only: 64 items of the zero-shot preset.
$BIN/synthscope generate nuclei-2d-broad -n 64 -o $RUNS/broad-64 --seed 1000
# 2. Both stages (coarse 800 + refiner 500 steps, default networks).
$BIN/synthscope train-segmenter scripts/nuclei-seg-2d.yaml
# 3. Install the model files (not the optimiser checkpoints); card.md is written by hand.
mkdir -p $MODEL/refiner
cp $RUNS/nuclei-seg-2d/config.json $RUNS/nuclei-seg-2d/coarse.safetensors $MODEL/
cp $RUNS/nuclei-seg-2d/refiner/config.json $RUNS/nuclei-seg-2d/refiner/ema.safetensors $MODEL/refiner/  # EMA: what loads
# 4. Scored on the held-out real test splits, against the same networks and budget trained on
#    each specimen's real training split (all arms for cells3d; HeLa's without 5 draws).
$BIN/python benchmarks/segment.py --out $RUNS/bench --model $MODEL --seeds 0 --speed
$BIN/python benchmarks/segment.py --out $RUNS/bench --specimens cells3d --seeds 0 --coarse-steps 800 --refiner-steps 500
$BIN/python benchmarks/segment.py --out $RUNS/bench --specimens hela --seeds 0 --coarse-steps 800 --refiner-steps 500 --arms coarse,smoothed,refined
# 4b. More seeds on cells3d: this model's refinement noise; training seeds 1-2 of both sides.
$BIN/python benchmarks/segment.py --out $RUNS/bench --model $MODEL --specimens cells3d --seeds 1,2
$BIN/python benchmarks/segment.py --out $RUNS/bench --synthetic $RUNS/broad-64 --specimens cells3d --seeds 1,2 --coarse-steps 800 --refiner-steps 500
$BIN/python benchmarks/segment.py --out $RUNS/bench --specimens cells3d --seeds 1,2 --coarse-steps 800 --refiner-steps 500
# 5. The medical sanity check of the generic path (pip install --no-deps nilearn==0.14.1).
$BIN/python scripts/segment_mni152.py --out $RUNS/mni152 --coarse-steps 400 --refiner-steps 400
