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
CONTINUOUS="--coarse-steps 800 --refiner-steps 500 --formulation continuous"
$BIN/python benchmarks/segment.py --out $RUNS/bench --specimens cells3d --seeds 0 $CONTINUOUS
$BIN/python benchmarks/segment.py --out $RUNS/bench --specimens hela --seeds 0 $CONTINUOUS --arms coarse,smoothed,refined
# 4b. More seeds on cells3d: this model's refinement noise; training seeds 1-2 of both sides.
$BIN/python benchmarks/segment.py --out $RUNS/bench --model $MODEL --specimens cells3d --seeds 1,2
$BIN/python benchmarks/segment.py --out $RUNS/bench --synthetic $RUNS/broad-64 --specimens cells3d --seeds 1,2 $CONTINUOUS
$BIN/python benchmarks/segment.py --out $RUNS/bench --specimens cells3d --seeds 1,2 $CONTINUOUS
# 4c. The discrete refiner against the continuous one, on the same coarse networks: each discrete
#     model folder starts with the coarse checkpoint of its continuous twin (same data, seed and
#     budget), so only the refiner is trained (about 1 CPU min each).
B=$RUNS/bench/models
for pair in cells3d-seed0:cells3d-discrete-seed0 cells3d-seed1:cells3d-discrete-seed1 \
    cells3d-seed2:cells3d-discrete-seed2 hela-seed0:hela-discrete-seed0 \
    synthetic-seed1:synthetic-discrete-seed1 synthetic-seed2:synthetic-discrete-seed2; do
  mkdir -p $B/${pair#*:}-degrade && cp $B/${pair%:*}-degrade/coarse* $B/${pair#*:}-degrade/
done
mkdir -p $B/synthetic-discrete-seed0-degrade && cp $RUNS/nuclei-seg-2d/coarse* $B/synthetic-discrete-seed0-degrade/
DISCRETE="--coarse-steps 800 --refiner-steps 500 --formulation discrete"
$BIN/python benchmarks/segment.py --out $RUNS/bench --specimens cells3d --seeds 0,1,2 $DISCRETE
$BIN/python benchmarks/segment.py --out $RUNS/bench --synthetic $RUNS/broad-64 --specimens cells3d --seeds 0,1,2 $DISCRETE
$BIN/python benchmarks/segment.py --out $RUNS/bench --synthetic $RUNS/broad-64 --specimens hela --seeds 0 $DISCRETE --arms coarse,smoothed,refined
$BIN/python benchmarks/segment.py --out $RUNS/bench --specimens hela --seeds 0 $DISCRETE --arms coarse,smoothed,refined
# 4d. 512x512 timings of both formulations (cells3d seed 0 models), back to back at the same load.
for m in cells3d-seed0 cells3d-discrete-seed0; do
  $BIN/python benchmarks/segment.py --out runs/segdiscrete/speed-$m --model $B/$m-degrade --specimens cells3d --seeds 0 --arms refined --speed
done
# 5. The medical sanity check of the generic path (pip install --no-deps nilearn==0.14.1).
$BIN/python scripts/segment_mni152.py --out $RUNS/mni152 --coarse-steps 400 --refiner-steps 400
# 6. An attempt at the cells3d gap, not shipped (docs/benchmarks.md): the same recipe on broad-64
#    plus 32 nuclei-2d items (a preset fitted to cells3d's training slices), training seeds 0-1.
R=runs/segdiscrete
$BIN/synthscope generate nuclei-2d -n 32 -o $R/nuclei-2d-32 --seed 2000
mkdir -p $R/mixed/images $R/mixed/labels
for f in $RUNS/broad-64/images/*.tif; do
  ln -sf "$PWD/$f" $R/mixed/images/b$(basename $f); ln -sf "$PWD/${f/images/labels}" $R/mixed/labels/b$(basename $f)
done
for f in $R/nuclei-2d-32/images/*.tif; do
  ln -sf "$PWD/$f" $R/mixed/images/n$(basename $f); ln -sf "$PWD/${f/images/labels}" $R/mixed/labels/n$(basename $f)
done
for s in 0 1; do
  printf 'data: {path: mixed}\nrefinement: {formulation: continuous}\ntraining: {coarse_steps: 800, refiner_steps: 500, seed: %s}\nout: mixed-model-seed%s\n' $s $s > $R/mixed-seed$s.yaml
  $BIN/synthscope train-segmenter $R/mixed-seed$s.yaml
  $BIN/python benchmarks/segment.py --out $R/mixed-bench --model $R/mixed-model-seed$s --specimens cells3d --seeds $s
done
$BIN/python benchmarks/segment.py --out $R/mixed-bench --model $R/mixed-model-seed0 --specimens hela --seeds 0 --arms coarse,smoothed,refined
