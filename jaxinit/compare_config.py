"""Settings of a comparison run: `CompareConfig`, the `MLP` it trains and their choices.

`CompareConfig` checks every setting when it is built, so a bad value fails
before any data is loaded. `ACTIVATIONS` and `OPTIMIZERS` list the names that
``activation`` and ``optimizer`` accept.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxinit.stats import _jsonable_config

__all__ = ["ACTIVATIONS", "DEFAULT_SCHEMES", "MLP", "OPTIMIZERS", "CompareConfig"]

DEFAULT_SCHEMES = (
    "fan_in_normal",
    "lecun_normal",
    "glorot_uniform",
    "he_normal",
    "orthogonal",
    "keras:uniform",
    "normal",
    "zeros",
)

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu,
    "tanh": jnp.tanh,
    "gelu": nn.gelu,
    "sigmoid": nn.sigmoid,
    "silu": nn.silu,
    "leaky_relu": nn.leaky_relu,
    "selu": nn.selu,
    "elu": nn.elu,
}

OPTIMIZERS: dict[str, Callable[[float], optax.GradientTransformation]] = {
    "adam": optax.adam,
    "adamw": optax.adamw,
    "sgd": optax.sgd,
    "rmsprop": optax.rmsprop,
}
# Number of points on the curves when eval_every is left to the default.
_DEFAULT_LOG_POINTS = 20


class MLP(nn.Module):
    """A multilayer perceptron whose Dense kernels all use one initializer.

    ``Dense(hidden[0]) -> activation -> ... -> Dense(out_features)``, with
    ``kernel_init`` for every kernel and zeros for every bias.

    Attributes:
        hidden: widths of the hidden layers; empty for a linear model.
        out_features: width of the output layer (classes, or 1 for regression).
        activation: a key of `ACTIVATIONS`, applied after each hidden layer.
        kernel_init: initializer of every kernel, called as
            ``kernel_init(key, (fan_in, fan_out), dtype)``.
    """

    hidden: tuple[int, ...]
    out_features: int
    activation: str = "relu"
    kernel_init: Callable[..., jax.Array] = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        activation = ACTIVATIONS[self.activation]
        for width in self.hidden:
            dense = nn.Dense(width, kernel_init=self.kernel_init, bias_init=nn.initializers.zeros)
            x = activation(dense(x))
        output = nn.Dense(
            self.out_features, kernel_init=self.kernel_init, bias_init=nn.initializers.zeros
        )
        return output(x)


@dataclass(frozen=True)
class CompareConfig:
    """Settings of one comparison run; every field has a default.

    Attributes:
        dataset: a bundled dataset name (see `jaxinit.data.list_datasets`) or
            the path of a ``.npz``/``.csv`` file. Default ``"digits"``.
        target: target column of a ``.csv`` file (label array of a ``.npz``).
        task: ``"auto"``, ``"classification"`` or ``"regression"``.
        model: the model family; only ``"mlp"`` exists.
        hidden: hidden layer widths, default ``(128, 128)``.
        activation: one of relu, tanh, gelu, sigmoid, silu, leaky_relu, selu,
            elu.
        schemes: schemes to compare. Each is a registry name such as
            ``"he_normal"``, a config mapping such as ``{"name":
            "variance_scaling", "scale": 2.0}``, a JSON object string of such a
            config, or an initializer object.
        seeds: members (independent initializations) per scheme.
        steps: optimizer steps for every member. The default, 450, is 10
            epochs of digits at batch size 32. On digits it separates the
            variance-scaling schemes from ``normal`` (std 0.01) and ``zeros``.
            The whole default run (``jaxinit compare``, compilation included)
            used about 50 s of CPU time. On two CPU cores shared with other
            jobs it took 52 s of wall time at load 3.5 and 101 s at load 8.
        batch_size: rows per minibatch; every member sees the same minibatches.
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` (plain, no momentum) or
            ``"rmsprop"``, built by Optax with ``learning_rate`` and Optax's
            other defaults.
        learning_rate: the optimizer's learning rate.
        seed: seeds the member keys, the data split and the minibatch order.
        eval_every: steps between two logged points of the curves; ``None``
            logs about 20 points (see `log_interval`).
        val_fraction: fraction of the rows held out for validation.
    """

    dataset: str = "digits"
    target: str | None = None
    task: Literal["auto", "classification", "regression"] = "auto"
    model: Literal["mlp"] = "mlp"
    hidden: tuple[int, ...] = (128, 128)
    activation: str = "relu"
    schemes: tuple[Any, ...] = DEFAULT_SCHEMES
    seeds: int = 16
    steps: int = 450
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    seed: int = 0
    eval_every: int | None = None
    val_fraction: float = 0.2

    def __post_init__(self) -> None:
        if isinstance(self.dataset, Path):
            object.__setattr__(self, "dataset", str(self.dataset))
        if not isinstance(self.dataset, str) or not self.dataset:
            raise TypeError(
                f"CompareConfig.dataset must be a dataset name or file path, got {self.dataset!r}."
            )
        if self.target is not None and not isinstance(self.target, str):
            raise TypeError(
                f"CompareConfig.target must be a column name or None, got {self.target!r}."
            )
        _check_choice("task", self.task, ("auto", "classification", "regression"))
        _check_choice("model", self.model, ("mlp",))
        _check_choice("activation", self.activation, tuple(ACTIVATIONS))
        _check_choice("optimizer", self.optimizer, tuple(OPTIMIZERS))

        if isinstance(self.hidden, int | str) or not isinstance(self.hidden, Sequence):
            raise TypeError(
                f"CompareConfig.hidden must be a sequence of layer widths, got {self.hidden!r}."
            )
        for width in self.hidden:
            _check_positive_int("hidden", width, "every hidden width")
        object.__setattr__(self, "hidden", tuple(int(width) for width in self.hidden))

        if isinstance(self.schemes, str | Mapping) or not isinstance(self.schemes, Sequence):
            raise TypeError(
                f"CompareConfig.schemes must be a sequence of schemes, got {self.schemes!r}; "
                f"wrap a single scheme in a tuple."
            )
        if not self.schemes:
            raise ValueError("CompareConfig.schemes is empty; name at least one scheme.")
        object.__setattr__(self, "schemes", tuple(self.schemes))

        for name in ("seeds", "steps", "batch_size"):
            _check_positive_int(name, getattr(self, name))
        if self.eval_every is not None:
            _check_positive_int("eval_every", self.eval_every)
            if self.eval_every > self.steps:
                raise ValueError(
                    f"CompareConfig.eval_every={self.eval_every} is larger than "
                    f"steps={self.steps}; expected at most steps."
                )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(
                f"CompareConfig.seed must be a non-negative integer, got {self.seed!r}."
            )
        if (
            isinstance(self.learning_rate, bool)
            or not isinstance(self.learning_rate, int | float)
            or not math.isfinite(self.learning_rate)
            or self.learning_rate <= 0
        ):
            raise ValueError(
                f"CompareConfig.learning_rate must be a positive finite number, "
                f"got {self.learning_rate!r}."
            )
        if not isinstance(self.val_fraction, int | float) or not 0 < self.val_fraction < 1:
            raise ValueError(
                f"CompareConfig.val_fraction must be strictly between 0 and 1, "
                f"got {self.val_fraction!r}."
            )

    @property
    def log_interval(self) -> int:
        """Steps between logged points: ``eval_every``, or a default near steps / 20.

        The default prefers a divisor of ``steps`` that gives 10 to 40 points,
        the count nearest 20, because a shorter final interval costs one more
        compilation of the training step.
        """
        if self.eval_every is not None:
            return self.eval_every
        candidates = [
            interval
            for interval in range(1, self.steps + 1)
            if self.steps % interval == 0 and 10 <= self.steps // interval <= 40
        ]
        if candidates:
            return min(
                candidates,
                key=lambda interval: abs(self.steps // interval - _DEFAULT_LOG_POINTS),
            )
        return max(1, self.steps // _DEFAULT_LOG_POINTS)

    def to_json(self) -> dict[str, Any]:
        """Return the settings as JSON-compatible values (schemes as configs)."""
        values = dataclasses.asdict(self)
        values["hidden"] = list(self.hidden)
        values["schemes"] = [_scheme_to_json(scheme) for scheme in self.schemes]
        return values


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(
            f"CompareConfig.{name}={value!r} is not supported; expected one of "
            f"{', '.join(choices)}."
        )


def _check_positive_int(name: str, value: object, subject: str = "it") -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(
            f"CompareConfig.{name} got {value!r}; {subject} must be a positive integer."
        )


def _scheme_to_json(scheme: Any) -> Any:
    if isinstance(scheme, str):
        try:
            return json.loads(scheme) if scheme.lstrip().startswith("{") else scheme
        except json.JSONDecodeError:
            return scheme
    if isinstance(scheme, Mapping):
        return dict(scheme)
    return _jsonable_config(scheme)
