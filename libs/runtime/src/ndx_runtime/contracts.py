"""The compiled NDX contracts: every generated module imported into the default pool."""

from __future__ import annotations

import importlib
import pkgutil

from google.protobuf import descriptor_pool

import ndx


def load_contracts() -> descriptor_pool.DescriptorPool:
    """Imports every generated module so that the default pool knows all NDX types."""
    for info in pkgutil.walk_packages(ndx.__path__, "ndx."):
        if info.name.endswith("_pb2"):
            importlib.import_module(info.name)
    return descriptor_pool.Default()
