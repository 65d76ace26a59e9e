"""Safe image opening, PSD read/write, PNG/ZIP export and atomic saving (Qt-free)."""

from .atomic import atomic_write
from .export import (export_flat_png, export_layers_png, export_layers_zip, layer_file_names,
                     save_document)
from .image_open import (IMAGE_EXTENSIONS, SourceInfo, describe_file, is_psd, open_document,
                         open_image)
from .limits import DEFAULT_MAX_PIXELS, check_pixels
from .psd_read import read_psd
from .psd_write import save_psd, write_psd

__all__ = [
    "DEFAULT_MAX_PIXELS", "IMAGE_EXTENSIONS", "SourceInfo", "atomic_write", "check_pixels",
    "describe_file", "export_flat_png", "export_layers_png", "export_layers_zip", "is_psd",
    "layer_file_names", "open_document", "open_image", "read_psd", "save_document", "save_psd",
    "write_psd",
]
