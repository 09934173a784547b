"""Port a small Keras regression network to Flax + Optax, initializers included.

The Keras original, on scikit-learn's diabetes data (10 features)::

    from keras.models import Sequential
    from keras.layers import Dense

    model = Sequential()
    model.add(Dense(10, input_dim=n, activation="relu",
                    kernel_initializer="uniform", bias_initializer="uniform"))
    model.add(Dense(1, kernel_initializer="uniform", bias_initializer="uniform"))
    model.compile(loss="mean_squared_error", optimizer="adam")
    model.fit(x_train, y_train, epochs=100, batch_size=32)

Keras' ``"uniform"`` is ``RandomUniform(minval=-0.05, maxval=0.05)``, which
``jaxinit.get("keras:uniform")`` builds, here for kernels and biases alike.
Keras' ``"adam"`` is Adam with learning rate 0.001, as ``optax.adam(1e-3)``,
and ``fit`` reshuffles the rows every epoch and keeps the last, smaller batch.

Features and targets come standardized from ``jaxinit.data.load_dataset``, so
the printed mean squared errors are in standardized units. The script also
prints them in the original units, multiplied by the target variance.

Run it with ``python examples/keras_port.py``. The environment variable
``JAXINIT_EXAMPLE_STEPS``, if set, stops training after that many optimizer
steps (smoke tests use it). Needs scikit-learn (``pip install
'jaxinit[compare]'``).
"""

import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxinit
from jaxinit.data import load_dataset

EPOCHS = 100
BATCH_SIZE = 32


class KerasPort(nn.Module):
    """Dense(10, relu) -> Dense(1), every kernel and bias from keras:uniform."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        uniform = jaxinit.get("keras:uniform")
        x = nn.relu(nn.Dense(10, kernel_init=uniform, bias_init=uniform)(x))
        return nn.Dense(1, kernel_init=uniform, bias_init=uniform)(x)[:, 0]


def main() -> None:
    max_steps = int(os.environ.get("JAXINIT_EXAMPLE_STEPS", "0")) or None
    data = load_dataset("diabetes")
    model = KerasPort()
    params = model.init(jax.random.key(0), jnp.zeros((1, data.num_features)))
    optimizer = optax.adam(1e-3)
    opt_state = optimizer.init(params)

    def mse(params, x, y):
        return jnp.mean((model.apply(params, x) - y) ** 2)

    @jax.jit
    def train_step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(mse)(params, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    rng = np.random.default_rng(0)
    steps = 0
    epochs = 0
    while epochs < EPOCHS and steps != max_steps:
        order = rng.permutation(len(data.y_train))
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            params, opt_state, _ = train_step(
                params, opt_state, data.x_train[rows], data.y_train[rows]
            )
            steps += 1
            if steps == max_steps:
                break
        epochs += 1

    train_mse = float(mse(params, data.x_train, data.y_train))
    val_mse = float(mse(params, data.x_val, data.y_val))
    variance = data.target_scale**2
    print(f"{epochs} epochs, {steps} steps of batch {BATCH_SIZE} on diabetes")
    print(f"train MSE {train_mse:.4f} standardized, {train_mse * variance:.1f} original units")
    print(f"validation MSE {val_mse:.4f} standardized, {val_mse * variance:.1f} original units")


if __name__ == "__main__":
    main()
