"""AgainModel: normalisation + backbone + head, with the adversarial ``train_step``.

The train step composes the pieces below it: ``attacks.pgd`` makes x_adv (inference mode,
predicted-label ASE masks), the objective turns outputs into per-example terms, AWP (if on)
perturbs the kernels around the update. Losses are summed and divided by the *global* batch,
so gradients summed over replicas are the global mean; logged values are global means.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import keras
import tensorflow as tf

from again_tf import randomness
from again_tf.attacks.losses import cross_entropy
from again_tf.attacks.pgd import pgd
from again_tf.engine import las
from again_tf.engine.distribution import keras_log_values
from again_tf.errors import ConfigError
from again_tf.evaluation.adaptive import through_aux_heads
from again_tf.evaluation.cascade import cascade, correct_predictions
from again_tf.layers.ase import torch_linear_initializer
from again_tf.models.outputs import ModelOutputs
from again_tf.models.site_tap import tap_sites
from again_tf.objectives.awp import perturbable, update_variables, weight_perturbation
from again_tf.objectives.base import Objective


@dataclass(frozen=True)
class AttackSettings:
    """The PGD the train and test steps run (pixel scale).

    ``losses`` is used by the test step only: each example counts as robust if it survives
    every loss in turn (``ce``: the main head; ``ce_aux``: the main head plus beta_aux times
    the mean of the ASE heads, the adaptive attack that goes around the inference masks).
    """

    eps: float
    step_size: float
    steps: int
    norm: str = "linf"
    init: str = "uniform"
    losses: tuple[str, ...] = ("ce",)


@dataclass(frozen=True)
class AWPSettings:
    gamma: float = 5e-3
    warmup_steps: int = 0  # optimizer steps before AWP starts (warm-up epochs x steps/epoch)


@keras.saving.register_keras_serializable(package="again_tf")
class AgainModel(keras.Model):
    """``model(images)`` gives the main logits of the deployed model (ASE in inference mode).

    ``model.forward(images, labels, training)`` gives ``ModelOutputs`` with the auxiliary logits;
    in training mode the ASE masks need ``labels``.
    """

    def __init__(self, backbone, num_classes, mean, std, hff_style="shuffle", guide=None,
                 strategy=None, **kwargs):
        super().__init__(**kwargs)
        backbone, guide, strategy = [keras.saving.deserialize_keras_object(v) if isinstance(v, dict) else v
                                     for v in (backbone, guide, strategy)]
        self.backbone = backbone
        self.guide = guide  # LBGAT's clean-trained guide network (an AgainModel), trained jointly
        self.strategy = strategy  # LAS-AT's strategy network, trained by REINFORCE (engine/las.py)
        self.num_classes = int(num_classes)
        self.mean, self.std = [float(m) for m in mean], [float(s) for s in std]
        self.hff_style = hff_style
        self.normalize = keras.layers.Normalization(  # float32 under mixed precision too
            mean=self.mean, variance=[s * s for s in self.std], name="normalize", dtype="float32"
        )
        self.pool = keras.layers.GlobalAveragePooling2D(name="pool")
        self.head = keras.layers.Dense(
            self.num_classes, kernel_initializer=torch_linear_initializer(),
            bias_initializer=torch_linear_initializer(), name="head", dtype="float32",
        )

    def build(self, input_shape):
        """Builds every sublayer with one inference pass on zeros of ``input_shape``."""
        self.image_shape = tuple(int(d) for d in input_shape[1:])
        self.call(tf.zeros((1, *self.image_shape)), training=False)
        for extra in (self.guide, self.strategy):
            if extra is not None:
                extra.build(input_shape)
        self.built = True

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras' fit reduces a whole first batch across replicas only to learn its shapes, which
        fails under MultiWorkerMirroredStrategy (keras 3.15); a built model knows them already."""
        if data_batch is None and getattr(self, "image_shape", None) is not None:
            data_batch = (tf.TensorSpec((None, *self.image_shape), tf.float32),
                          tf.TensorSpec((None,), tf.int32))
            iterator = None
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def call(self, images, labels=None, training=None, style_images=None, return_aux=False):
        x = self.normalize(images)
        paired = style_images is not None
        if paired:  # HFF style="clean": the clean half supplies the statistics, then is dropped
            x = tf.concat([x, self.normalize(style_images)], axis=0)
            labels = None if labels is None else tf.concat([labels, labels], axis=0)
        features, aux = self.backbone(x, labels=labels, training=training, paired=paired)
        logits = self.head(self.pool(features))
        if paired:
            count = tf.shape(images)[0]
            logits, aux = logits[:count], [a[:count] for a in aux]
        return (logits, tuple(aux)) if return_aux else logits

    def forward(self, images, labels=None, training=False, style_images=None) -> ModelOutputs:
        logits, aux = self(images, labels=labels, training=training, style_images=style_images,
                           return_aux=True)
        return ModelOutputs(logits, aux)

    def features_and_logits(self, images, site: str | None = None):
        """The output of AGAIN site ``site`` (default: the last one, else the final feature map)
        and the logits, in inference mode: what Grad-CAM needs. Eager only."""
        site = site or (self.backbone.sites[-1] if self.backbone.sites else "features")
        if site not in self.backbone.sites and site != "features":
            raise ValueError(f"no AGAIN site {site!r} in this model; it has {list(self.backbone.sites)} "
                             f"(or 'features', the final feature map).")
        with tap_sites() as outputs:
            features, _ = self.backbone(self.normalize(images), training=False)
        return outputs.get(site, features), self.head(self.pool(features))

    def get_config(self):
        return {
            **super().get_config(),
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "mean": self.mean,
            "std": self.std,
            "hff_style": self.hff_style,
            "guide": None if self.guide is None else keras.saving.serialize_keras_object(self.guide),
            "strategy": None if self.strategy is None else keras.saving.serialize_keras_object(self.strategy),
        }

    # --- training -------------------------------------------------------------------------

    def compile(self, optimizer, objective: Objective, attack: AttackSettings,
                eval_attack: AttackSettings, weight_decay: float = 0.0,
                awp: AWPSettings | None = None, seed: int = 0, **kwargs):
        """``weight_decay`` is coupled L2 (added to the gradient, as PyTorch's SGD does);
        ``seed`` keys the training randomness (with the step count: see ``again_tf.randomness``)."""
        super().compile(optimizer=optimizer, **kwargs)
        self.objective, self.attack, self.eval_attack = objective, attack, eval_attack
        self.training_seed = int(seed)
        self.weight_decay, self.awp = float(weight_decay), awp
        names = ["loss", "loss_base", *objective.term_names]
        if self.backbone.use_ase:
            names.append("loss_aux")
        names += ["clean_accuracy", "robust_accuracy"]
        if objective.needs_strategy:
            if tf.distribute.has_strategy():
                raise ConfigError("las_at trains without tf.distribute (its strategy network's update "
                                  "runs every few steps, inside the step): use --strategy default.")
            names.append("strategy_reward")
        # Not model state (not saved with the weights); Keras resets them through ``metrics``.
        object.__setattr__(self, "_trackers", {n: keras.metrics.Mean(name=n) for n in names})

    def get_compile_config(self):
        return None  # objective and attacks are rebuilt from the run's config, not the archive

    @property
    def metrics(self):
        return list(getattr(self, "_trackers", {}).values())

    def inference_fn(self):
        return lambda images: self.forward(images, training=False)

    def target_variables(self) -> list:
        """The variables the optimizer trains: all but LAS-AT's strategy network's."""
        own = {id(v) for v in self.strategy.trainable_variables} if self.strategy is not None else set()
        return [v for v in self.trainable_variables if id(v) not in own]

    def batchnorm_statistics(self) -> list:
        """Copies of the BN moving statistics (a look-ahead pass must leave them as they were)."""
        return [(w, tf.identity(w.value)) for layer in self._flatten_layers()
                if isinstance(layer, keras.layers.BatchNormalization) for w in layer.non_trainable_weights]

    def restore_batchnorm_statistics(self, saved) -> None:
        update_variables([w for w, _ in saved], [v for _, v in saved], mode="assign")

    def adversarial_examples(self, x, y):
        """x_adv for training: the objective's attack loss, model in inference mode."""
        objective = self.objective
        if objective.needs_strategy:
            picks, _ = las.sample_strategies(self.strategy, x, training=False)
            return las.strategy_examples(self, x, y, picks)
        reference = self.forward(x, training=False) if objective.needs_attack_reference else None
        a = self.attack
        tau = objective.early_stop_tau(self.optimizer.iterations)
        return pgd(
            self.inference_fn(), x, y, eps=a.eps, step_size=a.step_size, steps=a.steps,
            norm=a.norm, init=a.init,
            loss=lambda outputs, labels: objective.attack_loss(outputs, labels, reference),
            stop_after=tau, stop_labels=None if tau is None else y, step_noise=objective.step_noise,
        )

    def loss_terms(self, x, x_adv, y):
        """Per-example terms of the objective on the training-mode forward passes."""
        style = x if self.hff_style == "clean" else None
        adv = self.forward(x_adv, y, training=True, style_images=style)
        clean = self.forward(x, y, training=True) if self.objective.needs_clean_forward else None
        guide = self.guide(x, training=True) if self.objective.needs_guide else None
        return self.objective.loss_terms(adv, clean, y, guide)

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
        if self.objective.needs_strategy:
            reward = las.maybe_update_strategy(self, x, y)
            updated = tf.cast(reward >= 0, tf.float32)  # -1: no strategy update at this step
            self._trackers["strategy_reward"].update_state(reward, sample_weight=updated)
        x_adv = self.adversarial_examples(x, y)
        count = _global_count(x)
        delta = self._awp_perturbation(x, x_adv, y, count) if self.awp is not None else None
        with tf.GradientTape() as tape:
            terms = self.loss_terms(x, x_adv, y)
            loss = tf.reduce_sum(terms["loss"]) / count
            scaled = self.optimizer.scale_loss(loss)  # mixed_float16: loss scaling, else loss
        variables = self.target_variables()
        grads = tape.gradient(scaled, variables)
        if delta is not None:
            update_variables(perturbable(variables), [-d for d in delta])
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        decay = self.optimizer.scale_loss(self.weight_decay / replicas)  # scaled like the gradients
        grads = [g + decay * v for g, v in zip(grads, variables)]
        self.optimizer.apply_gradients(zip(grads, variables))
        # Accuracies in inference mode: training-mode ASE masks see the true label.
        return self._record(terms, correct_predictions(self(x, training=False), y),
                            correct_predictions(self(x_adv, training=False), y))

    def _awp_perturbation(self, x, x_adv, y, count):
        """Applies the AWP perturbation (zero during warm-up) and returns it for the restore."""
        saved = self.batchnorm_statistics()

        def proxy_loss():
            return tf.reduce_sum(self.loss_terms(x, x_adv, y)["loss"]) / count

        targets = perturbable(self.trainable_variables)
        delta = weight_perturbation(proxy_loss, targets, self.awp.gamma)
        self.restore_batchnorm_statistics(saved)  # the proxy pass must not move BN stats
        active = tf.cast(self.optimizer.iterations >= self.awp.warmup_steps, tf.float32)
        delta = [active * d for d in delta]
        update_variables(targets, delta)
        return delta

    def test_step(self, data):
        """Clean and worst-case PGD robust accuracy over ``eval_attack.losses`` (a cascade: each
        loss attacks the examples the earlier ones left), plus the objective's terms at the
        first attack's examples; all in inference mode."""
        x, y = data[0], data[1]
        attacks = [functools.partial(self._eval_pgd, loss=loss) for loss in self.eval_attack.losses]
        first = attacks[0](x, y)
        deployed = lambda images: self(images, training=False)
        robust = cascade(deployed, x, y, [lambda *_: first, *attacks[1:]])[-1]
        adv, clean = self.forward(first, training=False), self.forward(x, training=False)
        guide = self.guide(x, training=False) if self.objective.needs_guide else None
        terms = self.objective.loss_terms(adv, clean, y, guide)
        return self._record(terms, correct_predictions(clean.logits, y), robust, training=False)

    def _eval_pgd(self, x, y, loss):
        a = self.eval_attack
        fn = through_aux_heads(cross_entropy, self.objective.beta_aux) if loss == "ce_aux" else loss
        return pgd(self.inference_fn(), x, y, eps=a.eps, step_size=a.step_size, steps=a.steps,
                   norm=a.norm, init=a.init, loss=fn, keep_found=True)  # as training.evaluate

    def _record(self, terms, clean_correct, robust_correct, training=True):
        """Updates every tracker; returning all of them lets Keras log cross-replica values."""
        for name, value in terms.items():
            self._trackers[name].update_state(value)
        self._trackers["clean_accuracy"].update_state(clean_correct)
        self._trackers["robust_accuracy"].update_state(robust_correct)
        logs = {name: m.result() for name, m in self._trackers.items()}
        if not training:  # the strategy reward is a training quantity, not a validation one
            logs.pop("strategy_reward", None)
        return keras_log_values(logs)


def _global_count(x):
    """Examples in the global batch: the local count summed over replicas."""
    local = tf.cast(tf.shape(x)[0], tf.float32)
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return local
    return context.all_reduce(tf.distribute.ReduceOp.SUM, local)
