"""A request's TensorProto to NumPy, checked against its declared shape before converting.

Why: ``tf.make_ndarray`` fills a declared shape from a single value, so a 49-byte request
declaring [600000, 28, 28, 1] with one ``float_val`` became a 1.9 GB array before any batch
check. Here the shape is checked first (every dimension known and >= 0, the batch within the
cap, the element count within what a batch of that size can hold) and the values must fill it
exactly, as ``tensor_content`` bytes or as the dtype's repeated field.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from serving.errors import BadRequest

# the repeated field that carries each dtype's values when tensor_content is empty
_FIELDS = {
    types_pb2.DT_FLOAT: "float_val", types_pb2.DT_DOUBLE: "double_val", types_pb2.DT_HALF: "half_val",
    types_pb2.DT_BFLOAT16: "half_val", types_pb2.DT_INT8: "int_val", types_pb2.DT_INT16: "int_val",
    types_pb2.DT_INT32: "int_val", types_pb2.DT_UINT8: "int_val", types_pb2.DT_UINT16: "int_val",
    types_pb2.DT_INT64: "int64_val", types_pb2.DT_UINT32: "uint32_val", types_pb2.DT_UINT64: "uint64_val",
    types_pb2.DT_BOOL: "bool_val", types_pb2.DT_STRING: "string_val",
}


def declared_shape(name: str, proto, max_batch: int, max_elements: int) -> list[int]:
    """The proto's shape, refused before any array exists if it is unknown, negative, a batch
    over ``max_batch`` or more than ``max_elements`` elements."""
    if proto.tensor_shape.unknown_rank:
        raise BadRequest(f"{name}: tensor_shape has unknown_rank; declare every dimension.")
    dims = [d.size for d in proto.tensor_shape.dim]
    if any(d < 0 for d in dims):
        raise BadRequest(f"{name}: tensor_shape {dims} has a negative (unknown) dimension; declare sizes.")
    if dims and dims[0] > max_batch:
        raise BadRequest(f"{name}: batch of {dims[0]} is over this server's maximum of {max_batch}; "
                         "split it into smaller requests.")
    if math.prod(dims) > max_elements:
        raise BadRequest(f"{name}: tensor_shape {dims} declares {math.prod(dims)} elements, more than a "
                         f"batch of {max_batch} of this input holds ({max_elements}); check the shape.")
    return dims


def to_numpy(name: str, proto, max_batch: int, max_elements: int) -> np.ndarray:
    """The array of a request's TensorProto; BadRequest naming the input otherwise."""
    dims = declared_shape(name, proto, max_batch, max_elements)
    field = _FIELDS.get(proto.dtype)
    if field is None:
        raise BadRequest(f"{name}: dtype {types_pb2.DataType.Name(proto.dtype)} is not supported; send "
                         "DT_FLOAT pixels or DT_STRING image files.")
    count = math.prod(dims)
    if proto.tensor_content:
        if proto.dtype == types_pb2.DT_STRING:
            raise BadRequest(f"{name}: DT_STRING values go in string_val, not tensor_content.")
        itemsize = tf.dtypes.as_dtype(proto.dtype).size
        if len(proto.tensor_content) != count * itemsize:
            raise BadRequest(f"{name}: tensor_content has {len(proto.tensor_content)} bytes; shape {dims} of "
                             f"{types_pb2.DataType.Name(proto.dtype)} needs {count * itemsize}.")
    elif len(getattr(proto, field)) != count:
        raise BadRequest(f"{name}: {len(getattr(proto, field))} values in {field} for shape {dims}, which "
                         f"holds {count}; send exactly one value per element.")
    try:
        return tf.make_ndarray(proto)
    except (TypeError, ValueError) as err:
        raise BadRequest(f"{name}: cannot read the TensorProto ({err}).") from None
