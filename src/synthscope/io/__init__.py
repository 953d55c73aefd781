"""Reading and writing images and synthscope data sets.

Only this package touches files. Every writer writes to a temporary name and renames,
keeps the dtype of what it is given and never rescales intensities.
"""

from synthscope.io.annotated import read_annotated
from synthscope.io.dataset import Dataset, DatasetWriter, read_dataset
from synthscope.io.formats import read_image, write_image
from synthscope.io.image import ImageData

__all__ = ["Dataset", "DatasetWriter", "ImageData", "read_annotated", "read_dataset", "read_image", "write_image"]
