"""Reading and writing images and synthscope data sets.

Only this package touches files. Every writer writes to a temporary name and renames
(`atomic_path`, which code outside this package uses too), keeps the dtype of what it
is given and never rescales intensities.
"""

from synthscope.io._atomic import atomic_path, write_text
from synthscope.io.annotated import read_annotated, read_images
from synthscope.io.dataset import Dataset, DatasetWriter, read_dataset
from synthscope.io.formats import read_image, write_image
from synthscope.io.image import ImageData

__all__ = [
    "Dataset",
    "DatasetWriter",
    "ImageData",
    "atomic_path",
    "read_annotated",
    "read_dataset",
    "read_image",
    "read_images",
    "write_image",
    "write_text",
]
