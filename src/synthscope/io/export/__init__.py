"""Exporters from a synthscope data set to the layouts segmentation tools train on.

Each checks every item first and writes all or nothing (`_common.all_or_nothing`): a
failed export leaves its output folder as it was.
"""

from synthscope.io.export.celldiffusion import to_celldiffusion
from synthscope.io.export.cellpose import to_cellpose
from synthscope.io.export.ctc import to_ctc
from synthscope.io.export.stardist import to_stardist

EXPORTERS = {"cellpose": to_cellpose, "stardist": to_stardist, "ctc": to_ctc, "celldiffusion": to_celldiffusion}

__all__ = ["EXPORTERS", "to_cellpose", "to_celldiffusion", "to_ctc", "to_stardist"]
