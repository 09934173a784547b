"""Use a jaxinit scheme as the kernel initializer of a Dense layer in Flax linen and NNX.

``fan_in_normal()`` draws every kernel entry from N(0, 1 / fan_in), where
fan_in is the layer's number of inputs. The script builds one 512 -> 256
layer both ways and prints the kernel's shape and its sample standard
deviation next to the target 1 / sqrt(fan_in).

Run it with ``python examples/quickstart.py``.
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import nnx

import jaxinit

IN_FEATURES = 512
OUT_FEATURES = 256


def main() -> None:
    scheme = jaxinit.fan_in_normal()
    print(f"scheme: {scheme!r}")
    target = 1 / math.sqrt(IN_FEATURES)

    layer = nn.Dense(OUT_FEATURES, kernel_init=scheme)
    variables = layer.init(jax.random.key(0), jnp.ones((1, IN_FEATURES)))
    kernel = variables["params"]["kernel"]
    print(
        f"linen Dense kernel {kernel.shape}: std {float(kernel.std()):.4f}, "
        f"1/sqrt(fan_in) {target:.4f}"
    )

    linear = nnx.Linear(IN_FEATURES, OUT_FEATURES, kernel_init=scheme, rngs=nnx.Rngs(0))
    kernel = linear.kernel[...]
    print(
        f"nnx Linear kernel {kernel.shape}: std {float(kernel.std()):.4f}, "
        f"1/sqrt(fan_in) {target:.4f}"
    )


if __name__ == "__main__":
    main()
