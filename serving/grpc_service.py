"""gRPC ``PredictionService.Predict`` for serving.local, on grpcio and the protos of
tensorflow-serving-api.

Same checks and messages as the REST side; client mistakes come back as INVALID_ARGUMENT or
NOT_FOUND, as TF Serving answers them. Each input's declared shape is checked before its
values are converted (serving.tensor_proto); grpcio enforces the message size, the calls in
progress and the streams per connection (``Limits``).
"""

from __future__ import annotations

from concurrent import futures

import grpc
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from serving.errors import BadRequest, NotFound
from serving.limits import Limits
from serving.predictor import Predictor
from serving.tensor_proto import to_numpy


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, predictor: Predictor):
        self.predictor = predictor

    def Predict(self, request, context):  # the proto's method name
        spec = request.model_spec
        signature = spec.signature_name or "serving_default"
        try:
            version = spec.version.value if spec.HasField("version") else None
            self.predictor.check_servable(spec.name, version, spec.version_label or None)
            outputs = self.predictor.predict(signature, self._inputs(signature, request.inputs))
        except NotFound as err:
            context.abort(grpc.StatusCode.NOT_FOUND, str(err))
        except BadRequest as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        response = predict_pb2.PredictResponse()
        response.model_spec.name = self.predictor.version.name
        response.model_spec.version.value = self.predictor.version.version
        response.model_spec.signature_name = signature
        for name, value in outputs.items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response

    def _inputs(self, signature: str, protos) -> dict:
        """Arrays of the request's inputs, each shape checked before conversion."""
        predictor = self.predictor
        predictor.check_input_names(signature, protos)
        return {name: to_numpy(name, proto, predictor.max_batch, predictor.max_elements(signature, name))
                for name, proto in protos.items()}


def server_options(limits: Limits) -> list[tuple[str, int]]:
    """grpcio channel arguments: the message cap (RESOURCE_EXHAUSTED above it, before the
    message is buffered whole), HTTP/2 streams per connection, idle connections closed."""
    return [("grpc.max_receive_message_length", limits.max_body_bytes),
            ("grpc.max_concurrent_streams", limits.grpc_max_concurrent_rpcs),
            ("grpc.max_connection_idle_ms", int(1000 * limits.idle_timeout))]


def start_grpc_server(predictor: Predictor, host: str = "127.0.0.1", port: int = 8500,
                      limits: Limits | None = None) -> tuple[grpc.Server, int]:
    """A started server and its port (``port`` 0 picks a free one)."""
    limits = limits or Limits()
    pool = futures.ThreadPoolExecutor(max_workers=limits.grpc_workers)
    server = grpc.server(pool, options=server_options(limits),
                         maximum_concurrent_rpcs=limits.grpc_max_concurrent_rpcs)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(predictor), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    return server, bound
