"""Bring instance masks into agreement with a refined image, keeping every label id.

After diffusion refinement an object's edge may have moved a little, an object may
have faded, or the model may have painted a new object where no label is. This
package updates each mask inside a narrow band around it (`update_labels`) and finds
what no label explains (`find_unlabeled`) or what no longer shows in the image
(`find_empty_labels`).
"""

from synthscope.annotate.check import find_empty_labels, find_unlabeled
from synthscope.annotate.update import update_labels

__all__ = ["find_empty_labels", "find_unlabeled", "update_labels"]
