#!/usr/bin/env bash
# Reproduce the default models shipped in src/synthscope/models, with their cards.
# Run from the repository root after `make install`. CPU time: about 20 minutes of
# training per model (single thread on a shared 2-core machine), plus the evaluation.
set -euo pipefail
export OMP_NUM_THREADS=1  # one thread per process; oversubscribed OpenMP pools stall on 2 cores
PY=.venv/bin/python
MODELS=src/synthscope/models

$PY scripts/train_default_models.py --steps 3000 --seed 0 --out runs/nuclei-fluo-2d --install $MODELS/nuclei-fluo-2d
$PY scripts/evaluate_default_model.py nuclei-fluo-2d --out runs/eval-nuclei-fluo-2d --count 16 --set refine.condition=null --set refine.hold=background --card $MODELS/nuclei-fluo-2d/card.md

# The mask-conditioned variant (it beats plain SDEdit downstream; variant I of docs/benchmarks.md).
$PY scripts/train_default_models.py --masked --steps 3000 --seed 0 --out runs/nuclei-fluo-2d-masked --install $MODELS/nuclei-fluo-2d-masked
$PY scripts/evaluate_default_model.py nuclei-fluo-2d-masked --out runs/eval-nuclei-fluo-2d-masked --count 16 --set refine.condition=mask --set refine.hold=background --card $MODELS/nuclei-fluo-2d-masked/card.md

# Conditioned on the mask and on the nuclei beyond the section: the default of preset nuclei-2d
# (it draws the out-of-plane light itself; docs/benchmarks.md has the downstream targets).
$PY scripts/train_default_models.py --out-of-plane --steps 3000 --seed 0 --out runs/nuclei-fluo-2d-out-of-plane --install $MODELS/nuclei-fluo-2d-out-of-plane
$PY scripts/evaluate_default_model.py nuclei-fluo-2d-out-of-plane --out runs/eval-nuclei-fluo-2d-out-of-plane --count 16 --card $MODELS/nuclei-fluo-2d-out-of-plane/card.md

# The 3D model (the default of preset nuclei-3d), compared with the 2D model slice by slice.
$PY scripts/compare_3d.py --out runs/compare-3d --install $MODELS/nuclei-fluo-3d

# The 3D card's FID of generated volumes.
$PY scripts/evaluate_3d_model.py --out runs/eval-3d --card $MODELS/nuclei-fluo-3d/card.md
