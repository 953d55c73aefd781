"""Evaluation: realism of image sets, segmentation scores and the downstream benchmark.

Segmentation scores (`match_instances`, `seg_score`, `dice`, `boundary_f1`) and the
realism metrics (`realism`, `swd`, `fid`, `kid`, and the views of volumes:
`resample_z`, `section_strips`, `texture_z_correlation`) import no torch; the
Inception features, the segmenter and the benchmark import it when called.
"""

from synthscope.evaluate.downstream import downstream_benchmark
from synthscope.evaluate.matching import THRESHOLDS, boundary_f1, dice, match_instances, seg_score
from synthscope.evaluate.realism import fid, inception_available, inception_features, kid, realism, swd, to_patches
from synthscope.evaluate.realism_3d import resample_z, section_strips, texture_z_correlation
from synthscope.evaluate.report import write_report
from synthscope.evaluate.segmenter import SegmenterNetwork, segment, train_segmenter

__all__ = [
    "THRESHOLDS",
    "SegmenterNetwork",
    "boundary_f1",
    "dice",
    "downstream_benchmark",
    "fid",
    "inception_available",
    "inception_features",
    "kid",
    "match_instances",
    "realism",
    "resample_z",
    "seg_score",
    "section_strips",
    "segment",
    "swd",
    "texture_z_correlation",
    "to_patches",
    "train_segmenter",
    "write_report",
]
