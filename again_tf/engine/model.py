"""AgainModel: the classifier with its training method's networks and the adversarial train step.

``train_step`` is one fixed sequence whatever the method (see ``again_tf.methods.base``): the
method's own network updates, its adversarial examples (inference mode, predicted-label ASE
masks), its loss terms inside the gradient tape (with the weight perturbation AWP adds around
it), then the update with coupled weight decay. Losses are summed and divided by the *global*
batch, so gradients summed over replicas are the global mean; logged values are global means.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import keras
import tensorflow as tf

from again_tf import randomness
from again_tf.attacks.cascade import cascade, correct_predictions
from again_tf.attacks.pgd import PGDSettings, pgd, pgd_through_heads
from again_tf.config.schema import AgainConfig
from again_tf.engine.distribution import keras_log_values
from again_tf.methods.base import Method
from again_tf.methods.variable_updates import update_variables
from again_tf.models.classifier import Classifier

BATCHNORM_STATISTICS = ("moving_mean", "moving_variance")  # keras.layers.BatchNormalization's


@dataclass(frozen=True)
class AttackSettings(PGDSettings):
    """The PGD of the test step. ``losses``: each example counts as robust if it survives every
    loss in turn (``ce``: the main head; ``ce_aux``: through the ASE heads, the adaptive attack
    that goes around the inference masks)."""

    losses: tuple[str, ...] = ("ce",)


@keras.saving.register_keras_serializable(package="again_tf")
class AgainModel(Classifier):
    """The classifier, plus ``networks``: the extra networks a method trains (LBGAT's guide,
    LAS-AT's strategy network), kept here so that checkpoints, resumes and exports carry them.
    ``beta_aux`` weighs the ASE heads in the adaptive attack, as in training."""

    def __init__(self, backbone, num_classes, mean, std, hff_style="shuffle", networks=None,
                 beta_aux: float = AgainConfig.beta_aux, guide=None, strategy=None, **kwargs):
        super().__init__(backbone, num_classes, mean, std, hff_style, **kwargs)
        networks = dict(networks or {})
        networks.update({k: v for k, v in (("guide", guide), ("strategy", strategy)) if v is not None})
        self.networks = {k: keras.saving.deserialize_keras_object(v) if isinstance(v, dict) else v
                         for k, v in networks.items()}  # guide=/strategy=: archives from before
        self.beta_aux = float(beta_aux)

    def build(self, input_shape):
        super().build(input_shape)
        for network in self.networks.values():
            network.build(input_shape)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras' fit reduces a whole first batch across replicas only to learn its shapes, which
        fails under MultiWorkerMirroredStrategy (keras 3.15); a built model knows them already.
        A private Keras method: tests/engine/test_model.py fails if Keras renames it."""
        if data_batch is None and getattr(self, "image_shape", None) is not None:
            data_batch = (tf.TensorSpec((None, *self.image_shape), tf.float32),
                          tf.TensorSpec((None,), tf.int32))
            iterator = None
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def get_config(self):
        return {**super().get_config(), "beta_aux": self.beta_aux,
                "networks": {k: keras.saving.serialize_keras_object(v) for k, v in self.networks.items()}}

    # --- training -------------------------------------------------------------------------

    def compile(self, optimizer, method: Method, eval_attack: AttackSettings, weight_decay: float = 0.0,
                seed: int = 0, **kwargs):
        """``weight_decay`` is coupled L2 (added to the gradient, as PyTorch's SGD does);
        ``seed`` keys the training randomness (with the step count: see ``again_tf.randomness``)."""
        super().compile(optimizer=optimizer, **kwargs)
        self.method, self.eval_attack = method, eval_attack
        self.training_seed, self.weight_decay = int(seed), float(weight_decay)
        names = ["loss", "loss_base", *method.term_names, *(["loss_aux"] if self.backbone.use_ase else []),
                 "clean_accuracy", "robust_accuracy", *method.metric_names]
        # Not model state (not saved with the weights); Keras resets them through ``metrics``.
        object.__setattr__(self, "_trackers", {n: keras.metrics.Mean(name=n) for n in names})

    def get_compile_config(self):
        return None  # the method and the attacks are rebuilt from the run's config, not the archive

    @property
    def metrics(self):
        return list(getattr(self, "_trackers", {}).values())

    def target_variables(self) -> list:
        """The variables the optimizer trains: all but those of the networks the method trains
        by another rule (LAS-AT's strategy network)."""
        untrained = [self.networks[name] for name in self.method.untrained_networks]
        own = {id(v) for network in untrained for v in network.trainable_variables}
        return [v for v in self.trainable_variables if id(v) not in own]

    def batchnorm_statistics(self) -> list:
        """Copies of the BN moving statistics (a look-ahead pass must leave them as they were)."""
        return [(w, tf.identity(w.value)) for w in self.non_trainable_weights
                if w.path.rsplit("/", 1)[-1] in BATCHNORM_STATISTICS]

    def restore_batchnorm_statistics(self, saved) -> None:
        update_variables([w for w, _ in saved], [v for _, v in saved], mode="assign")

    def step_seed(self) -> tf.Tensor:
        """``[seed, step]``, folded with the replica id: every replica draws its own numbers."""
        seed = tf.stack([tf.constant(getattr(self, "training_seed", 0), tf.int64),
                         tf.cast(self.optimizer.iterations, tf.int64)])
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            seed = tf.random.experimental.stateless_fold_in(seed, context.replica_id_in_sync_group)
        return seed

    def train_step(self, data):
        with randomness.step_seed(self.step_seed()):
            return self._train_step(data[0], data[1])

    def _train_step(self, x, y):
        method = self.method
        for name, (value, weight) in method.update_networks(self, x, y).items():
            self._trackers[name].update_state(value, sample_weight=weight)
        x_adv = method.adversarial_examples(self, x, y)
        count = global_count(x)
        variables = self.target_variables()
        with method.perturbed_weights(self, x, x_adv, y, count):
            with tf.GradientTape() as tape:
                terms = method.loss_terms(self, x, x_adv, y)
                loss = tf.reduce_sum(terms["loss"]) / count
                scaled = self.optimizer.scale_loss(loss)  # mixed_float16: loss scaling, else loss
            grads = tape.gradient(scaled, variables)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        decay = self.optimizer.scale_loss(self.weight_decay / replicas)  # scaled like the gradients
        grads = [g + decay * v for g, v in zip(grads, variables)]
        self.optimizer.apply_gradients(zip(grads, variables))
        # Accuracies in inference mode: training-mode ASE masks see the true label.
        return self._record(terms, correct_predictions(self(x, training=False), y),
                            correct_predictions(self(x_adv, training=False), y))

    def test_step(self, data):
        """Clean and worst-case PGD robust accuracy over ``eval_attack.losses`` (a cascade: each
        loss attacks the examples the earlier ones left), plus the method's terms at the first
        attack's examples; all in inference mode."""
        x, y = data[0], data[1]
        attacks = [functools.partial(self._eval_pgd, loss=loss) for loss in self.eval_attack.losses]
        first = attacks[0](x, y)
        deployed = lambda images: self(images, training=False)
        robust = cascade(deployed, x, y, [lambda *_: first, *attacks[1:]])[-1]
        terms = self.method.loss_terms(self, x, first, y, training=False)
        return self._record(terms, correct_predictions(deployed(x), y), robust, training=False)

    def _eval_pgd(self, x, y, loss):
        """As training.evaluate: keep the first adversarial example found."""
        settings = self.eval_attack.kwargs()
        if loss == "ce_aux":
            return pgd_through_heads(self.inference_fn(), x, y, beta_aux=self.beta_aux, **settings)
        return pgd(self.inference_fn(), x, y, loss=loss, keep_found=True, **settings)

    def _record(self, terms, clean_correct, robust_correct, training=True):
        """Updates every tracker; returning all of them lets Keras log cross-replica values."""
        for name, value in terms.items():
            self._trackers[name].update_state(value)
        self._trackers["clean_accuracy"].update_state(clean_correct)
        self._trackers["robust_accuracy"].update_state(robust_correct)
        logs = {name: m.result() for name, m in self._trackers.items()}
        if not training:  # the method's own metrics are training quantities, not validation ones
            for name in self.method.metric_names:
                logs.pop(name, None)
        return keras_log_values(logs)


def global_count(x):
    """Examples in the global batch: the local count summed over replicas."""
    local = tf.cast(tf.shape(x)[0], tf.float32)
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return local
    return context.all_reduce(tf.distribute.ReduceOp.SUM, local)
