"""An exported model loaded with TensorFlow alone (``tf.saved_model.load``), behind checks.

It knows nothing of again_tf: the signatures, their input specs and the metadata all come from
the SavedModel, as in TF Serving. Inputs are checked before TensorFlow sees them (dtype,
shape, empty or oversized batch) so each bad request gets one message naming the input and the
fix; the graph's own checks (values in [0, 1], undecodable images) come back as BadRequest too.
"""

from __future__ import annotations

import math
import re

import numpy as np
import tensorflow as tf
from google.protobuf.json_format import MessageToDict
from tensorflow.core.protobuf import saved_model_pb2

from serving.errors import BadRequest, NotFound
from serving.versions import DEFAULT_MAX_BATCH, ModelVersion


class Predictor:
    """Runs the signatures of one model version; safe to call from several threads."""

    def __init__(self, version: ModelVersion, max_batch: int = DEFAULT_MAX_BATCH):
        self.version, self.max_batch = version, int(max_batch)
        self._loaded = tf.saved_model.load(str(version.path))
        self.signatures = dict(self._loaded.signatures)
        self.input_specs = {name: fn.structured_input_signature[1] for name, fn in self.signatures.items()}

    def check_servable(self, name: str, version: int | None = None, label: str | None = None) -> None:
        """NotFound, worded as TF Serving's, unless the request names the loaded model version."""
        loaded = self.version
        if name != loaded.name:
            raise NotFound(f"Servable not found for request: Latest({name}); "
                           f"this server has {loaded.name!r}.")
        if label:
            raise NotFound(f"Unrecognized servable version label: {label}; no labels are configured.")
        if version is not None and version != loaded.version:
            raise NotFound(f"Servable not found for request: Specific({name}, {version}); "
                           f"loaded version: {loaded.version}.")

    def input_names(self, signature_name: str) -> list[str]:
        return sorted(self._spec(signature_name))

    def max_elements(self, signature_name: str, input_name: str) -> float:
        """Elements of the largest batch of one input (inf if the signature leaves a dimension free)."""
        dims = self._spec(signature_name)[input_name].shape.as_list()[1:]
        return math.inf if None in dims else self.max_batch * math.prod(dims)

    def check_input_names(self, signature_name: str, names) -> None:
        specs = self._spec(signature_name)
        if set(names) != set(specs):
            raise BadRequest(f"signature {signature_name!r} takes inputs {', '.join(sorted(specs))}; "
                             f"got {', '.join(sorted(names)) or 'none'}.")

    def numeric_examples(self) -> list[tuple[tuple[int, ...], np.dtype]]:
        """(per-example shape, dtype) of the signatures with one numeric input of fixed shape: the
        JSON fast path's candidates (serving.numeric_json)."""
        examples = []
        for specs in self.input_specs.values():
            if len(specs) == 1 and (spec := next(iter(specs.values()))).dtype != tf.string:
                dims = spec.shape.as_list()[1:]
                example = (tuple(dims), np.dtype(spec.dtype.as_numpy_dtype))
                if None not in dims and example not in examples:
                    examples.append(example)
        return examples

    def string_inputs(self, signature_name: str) -> list[str]:
        """The inputs that may carry ``{"b64": ...}`` in JSON (the others are numbers)."""
        return sorted(k for k, spec in self._spec(signature_name).items() if spec.dtype == tf.string)

    def _spec(self, signature_name: str) -> dict[str, tf.TensorSpec]:
        if signature_name not in self.input_specs:
            raise BadRequest(f"unknown signature_name {signature_name!r}; this model has: "
                             f"{', '.join(sorted(self.input_specs))}.")
        return self.input_specs[signature_name]

    def predict(self, signature_name: str, inputs: dict) -> dict[str, np.ndarray]:
        """Output name -> array. Raises BadRequest for anything the client can fix."""
        specs = self._spec(signature_name)
        self.check_input_names(signature_name, inputs)
        arrays = {name: self._checked(name, inputs[name], spec) for name, spec in specs.items()}
        try:
            outputs = self.signatures[signature_name](**{k: tf.constant(v) for k, v in arrays.items()})
        except tf.errors.InvalidArgumentError as err:
            raise BadRequest(tf_error_message(err)) from None
        return {k: v.numpy() for k, v in outputs.items()}

    def _checked(self, name: str, value, spec: tf.TensorSpec) -> np.ndarray:
        if isinstance(value, (list, tuple)) and len(value) > self.max_batch:  # before building an array
            self._over_batch(name, len(value))
        array = to_array(name, value, spec.dtype)
        if array.ndim >= 1 and array.shape[0] == 0:  # JSON's [] has no inner shape to check
            raise BadRequest(f"{name}: empty batch; send at least one example.")
        expected = spec.shape
        if array.ndim != expected.rank or not expected.is_compatible_with(array.shape):
            dims = ", ".join("N" if d is None else str(d) for d in expected.as_list())
            raise BadRequest(f"{name}: expected shape [{dims}] (N examples); got {list(array.shape)}.")
        if array.shape[0] > self.max_batch:
            self._over_batch(name, array.shape[0])
        return array

    def _over_batch(self, name: str, batch: int):
        raise BadRequest(f"{name}: batch of {batch} is over this server's maximum of {self.max_batch}; "
                         "split it into smaller requests.")

    def metadata(self) -> dict:
        """TF Serving's GetModelMetadataResponse as JSON: the SignatureDefs of saved_model.pb."""
        saved = saved_model_pb2.SavedModel.FromString((self.version.path / "saved_model.pb").read_bytes())
        defs = {name: MessageToDict(sig, preserving_proto_field_name=True)
                for name, sig in saved.meta_graphs[0].signature_def.items()}
        return {"model_spec": {"name": self.version.name, "signature_name": "",
                               "version": str(self.version.version)},
                "metadata": {"signature_def": {"signature_def": defs}}}

    def status(self) -> dict:
        return {"model_version_status": [{"version": str(self.version.version), "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}


def to_array(name: str, value, dtype: tf.DType) -> np.ndarray:
    if dtype == tf.string:
        array = np.asarray(value, dtype=object)
        flat = array.reshape(-1)
        if not all(isinstance(v, (bytes, str)) for v in flat):
            raise BadRequest(f"{name}: expected a list of strings, binary ones as {{\"b64\": \"...\"}} "
                             "(base64 of the encoded PNG/JPEG file).")
        encoded = [v.encode() if isinstance(v, str) else v for v in flat]
        return np.array(encoded, dtype=object).reshape(array.shape)
    try:
        array = np.asarray(value)
    except ValueError as err:
        if "maximum number of dimension" in str(err):
            raise BadRequest(f"{name}: nested lists deeper than the 64 dimensions NumPy allows; "
                             "send the tensor at its rank.") from None
        raise BadRequest(f"{name}: ragged nested lists; every example must have the same shape.") from None
    if array.dtype.kind not in "fiu":
        raise BadRequest(f"{name}: expected {dtype.name} numbers; got {_kind(array)} values.")
    return array.astype(dtype.as_numpy_dtype)


def _kind(array: np.ndarray) -> str:
    kinds = {"U": "string", "S": "string", "b": "boolean", "O": "mixed or ragged"}
    return kinds.get(array.dtype.kind, array.dtype.name)


def tf_error_message(err: tf.errors.OpError) -> str:
    """The useful line of a TensorFlow runtime error, without graph noise.

    ``assertion failed: [a] [b]`` (from tf.debugging.Assert) becomes ``a b``.
    """
    lines = [line.strip() for line in err.message.splitlines()]
    noise = ("Graph execution error", "Detected at node", "<stack traces", "[[", "[Op:")
    useful = [line for line in lines if line and not line.startswith(noise)]
    message = useful[0] if useful else lines[0]
    message = re.sub(r"\s*\[\[.*$", "", message)
    if message.startswith("assertion failed: "):
        message = message.removeprefix("assertion failed: ").strip("[]").replace("] [", " ")
    return message
