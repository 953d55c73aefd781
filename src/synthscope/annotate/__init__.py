"""Bring instance masks into agreement with a refined image.

After diffusion refinement an object's edge may have moved a little, an object may
have faded, or the model may have painted a new object where no label is. This
package updates each mask inside a narrow band around it, keeping every id
(`update_labels`); finds what no label explains (`find_unlabeled`) and labels whose
object no longer shows (`find_empty_labels`), judged against the sketch when it is
given as ``reference`` (`find_mismatches` runs both, also frame by frame); and acts
on them (`reconcile_labels`: new labels for new objects, empty labels removed).
"""

from synthscope.annotate.check import find_empty_labels, find_unlabeled
from synthscope.annotate.reconcile import find_mismatches, reconcile_labels
from synthscope.annotate.update import update_labels

__all__ = ["find_empty_labels", "find_mismatches", "find_unlabeled", "reconcile_labels", "update_labels"]
