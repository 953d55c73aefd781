#!/usr/bin/env bash
# Reproduce the bundled segmentation model nuclei-seg-2d and the figures of its card.
# Run from the repository root after `make install`; one thread per process. CPU time on
# the shared 2-core machine: see src/synthscope/models/nuclei-seg-2d/card.md.
set -euo pipefail
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
BIN=.venv/bin
RUNS=runs/segdefault
MODEL=src/synthscope/models/nuclei-seg-2d

# 1. Synthetic training data only: 64 items of the zero-shot preset and 32 of nuclei-2d (its
#    phantom fitted to cells3d's training slices), side by side in one images/ + labels/ folder.
#    The shipped model's nuclei-2d items were made at commit 815acd0, whose refiner of that preset
#    (the one-step student nuclei-fluo-2d-out-of-plane-distilled, sha256 bab4a98c...) has since
#    been replaced: a later tree makes other items.
$BIN/synthscope generate nuclei-2d-broad -n 64 -o $RUNS/broad-64 --seed 1000
$BIN/synthscope generate nuclei-2d -n 32 -o $RUNS/nuclei-2d-32 --seed 2000
mkdir -p $RUNS/mixed-96/images $RUNS/mixed-96/labels
for set in broad-64:b nuclei-2d-32:n; do
  for f in $RUNS/${set%:*}/images/*.tif; do
    ln -sf "$PWD/$f" $RUNS/mixed-96/images/${set#*:}$(basename $f)
    ln -sf "$PWD/${f/images/labels}" $RUNS/mixed-96/labels/${set#*:}$(basename $f)
  done
done
# 2. Both stages (coarse 800 + refiner 500 steps, default networks, continuous refiner, seed 0).
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
# 6. The shipped recipe over 3 training seeds (session 11; docs/benchmarks.md): seeds 1-2 retrained
#    from the same data, every model scored on both specimens; the real-trained HeLa models of
#    seeds 1-2 and the broad-only models of 4b on HeLa, for the shares of the real-trained AP@0.5.
S=runs/segment-s11
$BIN/python benchmarks/segment.py --out $S/default --model $MODEL --specimens cells3d --seeds 0,1,2 --speed
$BIN/python benchmarks/segment.py --out $S/default --model $MODEL --specimens hela --seeds 0 --arms coarse,refined-5
for s in 0 1 2; do
  if [ $s != 0 ]; then
    sed -e "s/seed: 0/seed: $s/" -e "s/nuclei-seg-2d$/mixed-seed$s/" scripts/nuclei-seg-2d.yaml > $RUNS/mixed-seed$s.yaml
    sed -i "s#\.\./runs/segdefault/##" $RUNS/mixed-seed$s.yaml  # paths relative to $RUNS
    $BIN/synthscope train-segmenter $RUNS/mixed-seed$s.yaml
  fi
  M=$RUNS/mixed-seed$s; [ $s = 0 ] && M=$RUNS/nuclei-seg-2d
  $BIN/python benchmarks/segment.py --out $S/mixed-bench --model $M --specimens cells3d --seeds $s
  $BIN/python benchmarks/segment.py --out $S/mixed-bench --model $M --specimens hela --seeds $s --arms coarse,smoothed,refined
done
for s in 1 2; do
  $BIN/python benchmarks/segment.py --out $S/mixed-bench --model $B/synthetic-seed$s-degrade --specimens hela --seeds $s --arms coarse,smoothed,refined
done
$BIN/python benchmarks/segment.py --out $RUNS/bench --specimens hela --seeds 1,2 $CONTINUOUS --arms coarse,smoothed,refined
# 7. Why refinement does not earn its cost on HeLa (session 11): discrete twins of the HeLa seeds
#    1-2, a weaker strength, and refiners trained on the coarse model's own masks, on the same
#    coarse networks (the coarse arm reports where its errors lie).
for s in 1 2; do
  mkdir -p $B/hela-discrete-seed$s-degrade && cp $B/hela-seed$s-degrade/coarse* $B/hela-discrete-seed$s-degrade/
done
for s in 0 1 2; do
  mkdir -p $B/hela-discrete-seed$s-model && cp $B/hela-seed$s-degrade/coarse* $B/hela-discrete-seed$s-model/
done
$BIN/python benchmarks/segment.py --out $RUNS/bench --specimens hela --seeds 1,2 $DISCRETE --arms coarse,smoothed,refined
$BIN/python benchmarks/segment.py --out $RUNS/bench --specimens hela --seeds 0,1,2 $DISCRETE --arms coarse,smoothed,refined --coarse-masks model
for s in 0 1 2; do
  $BIN/python benchmarks/segment.py --out $S/strength --model $B/hela-discrete-seed$s-degrade --specimens hela --seeds $s --arms refined --t-start 500
  $BIN/python benchmarks/segment.py --out $S/sites --model $B/cells3d-seed$s-degrade --specimens cells3d --seeds $s --arms coarse
done
$BIN/python benchmarks/segment.py --out $S/sites --model $B/hela-discrete-seed0-degrade --specimens hela --seeds 0 --arms coarse
#    And the discrete refiner trained 3x longer, on the same coarse networks (another folder).
L=$S/long/models
for s in 0 1 2; do
  mkdir -p $L/hela-discrete-seed$s-degrade && cp $B/hela-seed$s-degrade/coarse* $L/hela-discrete-seed$s-degrade/
  $BIN/python benchmarks/segment.py --out $S/long --specimens hela --seeds $s --coarse-steps 800 --refiner-steps 1500 --formulation discrete --arms coarse,refined
done
# 8. The same lever on cells3d: the discrete refiner on the coarse model's own masks.
for s in 0 1 2; do
  mkdir -p $B/cells3d-discrete-seed$s-model && cp $B/cells3d-seed$s-degrade/coarse* $B/cells3d-discrete-seed$s-model/
done
$BIN/python benchmarks/segment.py --out $RUNS/bench --specimens cells3d --seeds 0,1,2 $DISCRETE --arms coarse,smoothed,refined --coarse-masks model
