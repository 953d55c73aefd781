"""Round trips of every image format, and the errors bad files give."""

import numpy as np
import pytest
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from synthscope.errors import InputError
from synthscope.io import ImageData, read_image, write_image
from synthscope.io.hdf5 import read_hdf5, write_celldiffusion
from synthscope.io.omezarr import read_omezarr, write_omezarr

RNG = np.random.default_rng(0)

CASES = {
    "2d": ("YX", (6, 7), {"Y": 0.26, "X": 0.1 + 0.2}),
    "3d": ("ZYX", (3, 6, 7), {"Z": 0.29, "Y": 0.26, "X": 0.26}),
    "channels": ("CZYX", (2, 3, 6, 7), {"Z": 1.5, "X": 0.5}),
    "timelapse": ("TYX", (4, 6, 7), {"T": 30.0, "Y": 0.65, "X": 0.65}),
}


def _array(shape, dtype):
    if np.dtype(dtype).kind == "f":
        return RNG.random(shape).astype(dtype)
    return RNG.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)


def _assert_same(read, data, axes, spacing):
    assert read.axes == axes
    assert read.data.dtype == data.dtype
    np.testing.assert_array_equal(read.data, data)
    assert read.spacing == spacing


@pytest.mark.parametrize("suffix", [".tif", ".h5", ".zarr", ".nii", ".nii.gz"])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.uint16, np.uint8])
def test_round_trip_keeps_values_dtype_axes_and_spacing(tmp_path, suffix, case, dtype):
    axes, shape, spacing = CASES[case]
    data = _array(shape, dtype)
    path = tmp_path / f"image{suffix}"
    write_image(path, data, axes=axes, spacing=spacing)
    _assert_same(read_image(path), data, axes, spacing)


@pytest.mark.parametrize("suffix", [".tif", ".nii", ".h5"])
def test_channels_last_round_trip(tmp_path, suffix):
    data = _array((6, 7, 3), np.uint16)
    write_image(tmp_path / f"rgb{suffix}", data, axes="YXC", spacing={"X": 0.2})
    _assert_same(read_image(tmp_path / f"rgb{suffix}"), data, "YXC", {"X": 0.2})


@pytest.mark.parametrize("axes, shape", [("YX", (6, 7)), ("YXC", (6, 7, 3)), ("YXC", (6, 7, 1)), ("YXC", (6, 7, 4))])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_round_trip(tmp_path, axes, shape, dtype):
    data = _array(shape, dtype)
    write_image(tmp_path / "a.png", data, axes=axes, spacing={"Y": 0.26})
    _assert_same(read_image(tmp_path / "a.png"), data, axes, {"Y": 0.26})


def test_png_refuses_float_instead_of_rescaling(tmp_path):
    with pytest.raises(InputError, match=r"a\.png: PNG holds uint8 or uint16 pixels, not float32"):
        write_image(tmp_path / "a.png", np.zeros((4, 4), np.float32), axes="YX")
    with pytest.raises(InputError, match="PNG holds axes"):
        write_image(tmp_path / "a.png", np.zeros((2, 4, 4), np.uint8), axes="ZYX")
    assert not any(tmp_path.iterdir())


def test_tiff_is_the_same_bytes_every_time(tmp_path):
    data = _array((3, 6, 7), np.float32)
    for name in ("a.tif", "b.tif"):
        write_image(tmp_path / name, data, axes="ZYX", spacing={"Z": 0.5})
    assert (tmp_path / "a.tif").read_bytes() == (tmp_path / "b.tif").read_bytes()


def test_hdf5_celldiffusion_layout(tmp_path):
    image = ImageData(_array((3, 6, 7), np.float32), "ZYX", {"Z": 2.0})
    masks = {name: _array((3, 6, 7), np.float32) for name in ("boundary", "distance", "seeds")}
    instances = _array((3, 6, 7), np.uint16)
    write_celldiffusion(tmp_path / "a.h5", image, instances=instances, **masks)
    _assert_same(read_image(tmp_path / "a.h5"), image.data, "ZYX", {"Z": 2.0})
    _assert_same(read_hdf5(tmp_path / "a.h5", key="data/instances"), instances, "ZYX", {"Z": 2.0})
    for name, mask in masks.items():
        np.testing.assert_array_equal(read_hdf5(tmp_path / "a.h5", key=f"data/{name}").data, mask)


def test_omezarr_labels_and_metadata(tmp_path):
    image = ImageData(_array((2, 3, 6, 7), np.uint16), "CZYX", {"Z": 1.0, "Y": 0.5, "X": 0.5})
    cells = _array((3, 6, 7), np.uint32)
    write_omezarr(tmp_path / "a.zarr", image, labels={"cells": cells})
    _assert_same(read_omezarr(tmp_path / "a.zarr", label="cells"), cells, "ZYX", {"Z": 1.0, "Y": 0.5, "X": 0.5})
    write_omezarr(tmp_path / "a.zarr", ImageData(image.data[0], "ZYX"))  # replaces the whole store
    assert read_omezarr(tmp_path / "a.zarr").spacing == {}
    assert [p.name for p in tmp_path.iterdir()] == ["a.zarr"]
    with pytest.raises(InputError, match="order TCZYX"):
        write_omezarr(tmp_path / "b.zarr", ImageData(image.data[0].transpose(1, 2, 0), "YXZ"))


def _write_dicom(path, pixels, *, frames):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = pixels.shape[-2:]
    if frames:
        ds.NumberOfFrames = pixels.shape[0]
        ds.SpacingBetweenSlices = "2.5"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelSpacing = ["0.5", "0.25"]
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)


@pytest.mark.parametrize("shape, axes", [((6, 7), "YX"), ((3, 6, 7), "ZYX")])
def test_dicom_read(tmp_path, shape, axes):
    pixels = _array(shape, np.uint16)
    _write_dicom(tmp_path / "a.dcm", pixels, frames=len(shape) == 3)
    spacing = {"Z": 2500.0, "Y": 500.0, "X": 250.0} if axes == "ZYX" else {"Y": 500.0, "X": 250.0}
    _assert_same(read_image(tmp_path / "a.dcm"), pixels, axes, spacing)
    with pytest.raises(InputError, match="reads this format but does not write it"):
        write_image(tmp_path / "b.dcm", pixels, axes=axes)


def test_axes_given_when_reading_override_the_file(tmp_path):
    write_image(tmp_path / "a.tif", np.zeros((2, 3, 4), np.uint8), axes="ZYX")
    assert read_image(tmp_path / "a.tif", axes="TYX").axes == "TYX"
    with pytest.raises(InputError, match=r"a\.tif: axes 'YX' has 2 letters but the array has 3"):
        read_image(tmp_path / "a.tif", axes="YX")


@pytest.mark.parametrize(
    "axes, spacing, message",
    [
        ("ZYX", None, "axes 'ZYX' has 3 letters but the array has 2 dimensions"),
        ("YY", None, "repeats a letter"),
        ("YX", {"Z": 1.0}, "spacing names axis 'Z'"),
        ("YX", {"X": -1.0}, "must be a positive number"),
        ("XY", None, "OME-TIFF needs axes ending in 'YX' or 'YXC'"),
    ],
)
def test_write_refuses_bad_axes_and_spacing(tmp_path, axes, spacing, message):
    with pytest.raises(InputError, match=message):
        write_image(tmp_path / "a.tif", np.zeros((4, 5), np.uint8), axes=axes, spacing=spacing)
    assert not any(tmp_path.iterdir())


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"a\.webp: unknown image format '\.webp'"):
        read_image(tmp_path / "a.webp")
    with pytest.raises(InputError, match=r"a\.jpg: synthscope reads this format but does not write it"):
        write_image(tmp_path / "a.jpg", np.zeros((2, 2), np.uint8), axes="YX")
    with pytest.raises(InputError, match=r"b\.tif: no such file"):
        read_image(tmp_path / "b.tif")


@pytest.mark.parametrize("suffix", [".tif", ".png", ".h5", ".nii", ".nii.gz", ".dcm"])
def test_truncated_and_corrupt_files(tmp_path, suffix):
    path = tmp_path / f"a{suffix}"
    if suffix == ".dcm":
        _write_dicom(path, _array((16, 16), np.uint16), frames=False)
    else:
        write_image(path, _array((16, 16), np.uint16), axes="YX")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match=rf"a\{suffix}: "):
        read_image(path)
    path.write_bytes(b"this is not an image" * 10)
    with pytest.raises(InputError, match=rf"a\{suffix}: "):
        read_image(path)


def test_corrupt_omezarr(tmp_path):
    write_image(tmp_path / "a.zarr", np.zeros((4, 4), np.uint8), axes="YX")
    (tmp_path / "a.zarr" / "zarr.json").write_text("{")
    with pytest.raises(InputError, match=r"a\.zarr: not a readable OME-Zarr"):
        read_image(tmp_path / "a.zarr")


def test_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(InputError):
        write_image(tmp_path / "a.nii", np.zeros((2, 2), bool), axes="YX")
    assert not any(tmp_path.iterdir())
