# syntax=docker/dockerfile:1
# Two targets (docs/serving.md has the full commands):
#   docker build --target train -t again-train .
#   docker build --target serve --build-arg MODEL_DIR=serving_models -t again-serve .
# "serve" copies what `python -m serving.export --base-dir MODEL_DIR` wrote (models.config,
# batching_parameters.txt, <model>/<version>/) to /models and runs TF Serving on it.

# ---- train: python -m training.train with the project's requirements ----------------------
FROM python:3.11.11-slim-bookworm AS train
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
# Debian's offline Fashion-MNIST, which the quickstart preset reads from /usr/share/datasets.
RUN apt-get update \
    && apt-get install -y --no-install-recommends dataset-fashion-mnist \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY again_tf ./again_tf
COPY training ./training
COPY serving ./serving
VOLUME ["/app/runs"]
ENTRYPOINT ["python", "-m", "training.train"]
CMD ["--preset", "quickstart"]

# ---- serve: TF Serving (REST 8501, gRPC 8500) on an exported model -------------------------
FROM tensorflow/serving:2.21.0 AS serve
ARG MODEL_DIR=serving_models
COPY ${MODEL_DIR}/ /models/
EXPOSE 8500 8501
ENTRYPOINT ["/usr/bin/tensorflow_model_server", "--port=8500", "--rest_api_port=8501", "--model_config_file=/models/models.config", "--model_config_file_poll_wait_seconds=60", "--enable_batching=true", "--batching_parameters_file=/models/batching_parameters.txt"]
