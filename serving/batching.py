"""TF Serving's ``--batching_parameters_file``: a text-format ``BatchingParameters`` proto.

The ``tensorflow-serving-api`` wheel does not ship ``session_bundle_config.proto``, so the
message is rebuilt here from its published definition (field names, numbers and wrapper types
as in tensorflow_serving/servables/tensorflow/session_bundle_config.proto). Writing and reading
through it means an unknown or misspelled field fails here, not when the server starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format, wrappers_pb2

from serving.errors import ServingError

_FIELDS = (  # name, number, type (a wrapper message, or a scalar), repeated
    ("max_batch_size", 1, ".google.protobuf.Int64Value", False),
    ("batch_timeout_micros", 2, ".google.protobuf.Int64Value", False),
    ("max_enqueued_batches", 3, ".google.protobuf.Int64Value", False),
    ("num_batch_threads", 4, ".google.protobuf.Int64Value", False),
    ("thread_pool_name", 5, ".google.protobuf.StringValue", False),
    ("allowed_batch_sizes", 6, "int64", True),
    ("pad_variable_length_inputs", 7, "bool", False),
)


def _message_class():
    F = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="again_serving/batching_parameters.proto", package="tensorflow.serving",
        syntax="proto3", dependency=["google/protobuf/wrappers.proto"])
    message = file.message_type.add(name="BatchingParameters")
    scalars = {"int64": F.TYPE_INT64, "bool": F.TYPE_BOOL}
    for name, number, kind, repeated in _FIELDS:
        field = message.field.add(name=name, number=number, json_name=name,
                                  label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
        if kind in scalars:
            field.type = scalars[kind]
        else:
            field.type, field.type_name = F.TYPE_MESSAGE, kind
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(file)
    descriptor = pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters")
    return message_factory.GetMessageClass(descriptor)


BatchingParametersProto = _message_class()


@dataclass(frozen=True)
class BatchingParameters:
    """The knobs we set. ``max_batch_size`` is also the largest request TF Serving accepts with
    batching on (and the default limit of ``serving.local``); CPU serving wants
    ``num_batch_threads`` near the core count and a short timeout."""

    max_batch_size: int = 128
    batch_timeout_micros: int = 1000
    max_enqueued_batches: int = 100
    num_batch_threads: int = 2

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            least = 0 if field.name == "batch_timeout_micros" else 1
            if not isinstance(value, int) or value < least:
                raise ServingError(f"batching {field.name}: got {value!r}; use an integer >= {least}.")


def to_text(params: BatchingParameters) -> str:
    """Every field set; a zero prints as an empty wrapper (``batch_timeout_micros {}``), which
    TF Serving reads as a set 0."""
    proto = BatchingParametersProto()
    for field in dataclasses.fields(params):
        getattr(proto, field.name).value = getattr(params, field.name)
    return text_format.MessageToString(proto)


def parse(text: str) -> BatchingParameters:
    """The parameters of a batching file; fields we do not set keep our defaults."""
    proto = BatchingParametersProto()
    try:
        text_format.Parse(text, proto)
    except text_format.ParseError as err:
        raise ServingError(f"batching parameters file: {err}; see docs/serving.md for the format.") from None
    values = {f.name: getattr(proto, f.name).value for f in dataclasses.fields(BatchingParameters)
              if proto.HasField(f.name)}
    return BatchingParameters(**values)
