"""gRPC ``PredictionService.Predict`` for serving.local, on the protos of tensorflow-serving-api.

Same checks and messages as the REST side; client mistakes come back as INVALID_ARGUMENT or
NOT_FOUND, as TF Serving answers them.
"""

from __future__ import annotations

from concurrent import futures

import grpc
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from serving.errors import BadRequest, NotFound
from serving.predictor import Predictor


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, predictor: Predictor):
        self.predictor = predictor

    def Predict(self, request, context):  # the proto's method name
        spec = request.model_spec
        try:
            version = spec.version.value if spec.HasField("version") else None
            self.predictor.check_servable(spec.name, version, spec.version_label or None)
            inputs = {name: _to_numpy(name, proto) for name, proto in request.inputs.items()}
            outputs = self.predictor.predict(spec.signature_name or "serving_default", inputs)
        except NotFound as err:
            context.abort(grpc.StatusCode.NOT_FOUND, str(err))
        except BadRequest as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        response = predict_pb2.PredictResponse()
        response.model_spec.name = self.predictor.version.name
        response.model_spec.version.value = self.predictor.version.version
        response.model_spec.signature_name = spec.signature_name or "serving_default"
        for name, value in outputs.items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response


def _to_numpy(name: str, proto):
    try:
        return tf.make_ndarray(proto)
    except (TypeError, ValueError) as err:
        raise BadRequest(f"{name}: cannot read the TensorProto ({err}).") from None


def start_grpc_server(predictor: Predictor, host: str = "127.0.0.1", port: int = 8500,
                      workers: int = 4) -> tuple[grpc.Server, int]:
    """A started server and its port (``port`` 0 picks a free one)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(predictor), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    return server, bound
