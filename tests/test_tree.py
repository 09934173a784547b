import math
import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxinit.tree import bias_from_fan_in


class _Mlp(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(300)(x))
        return nn.Dense(10)(x)


def _mlp_params():
    return _Mlp().init(jax.random.key(0), jnp.ones((1, 400)))["params"]


def test_bias_uniform_matches_torch_bound():
    params = bias_from_fan_in(
        _mlp_params(), jax.random.key(1), scale=1 / 3, distribution="uniform"
    )

    first, second = np.asarray(params["Dense_0"]["bias"]), np.asarray(params["Dense_1"]["bias"])
    assert np.abs(first).max() <= 1 / math.sqrt(400)
    assert np.abs(first).max() > 0.9 / math.sqrt(400)
    assert np.abs(second).max() <= 1 / math.sqrt(300)


def test_bias_normal_variance_is_one_over_fan_in():
    kernel = jnp.zeros((100, 20000))
    params = bias_from_fan_in({"kernel": kernel, "bias": jnp.zeros(20000)}, jax.random.key(2))

    bias = np.asarray(params["bias"], np.float64)
    n = bias.size
    variance = 1 / 100
    # The standard error of a normal sample variance is variance * sqrt(2 / n).
    assert abs(bias.var() - variance) < 6 * variance * math.sqrt(2 / n)
    assert abs(bias.mean()) < 6 * math.sqrt(variance / n)


def test_bias_conv_fan_in_includes_receptive_field():
    variables = nn.Conv(32, (3, 3)).init(jax.random.key(0), jnp.ones((1, 8, 8, 16)))
    params = bias_from_fan_in(
        variables["params"], jax.random.key(3), scale=1 / 3, distribution="uniform"
    )

    assert np.abs(np.asarray(params["bias"])).max() <= 1 / math.sqrt(3 * 3 * 16)


def test_bias_kernels_and_other_leaves_unchanged():
    params = _mlp_params()
    params = {**params, "scale": jnp.ones(3)}
    result = bias_from_fan_in(params, jax.random.key(1))

    np.testing.assert_array_equal(result["Dense_0"]["kernel"], params["Dense_0"]["kernel"])
    np.testing.assert_array_equal(result["scale"], params["scale"])
    assert result["Dense_0"]["bias"].dtype == params["Dense_0"]["bias"].dtype


def test_bias_vmap_member_equals_single_call():
    params = _mlp_params()
    keys = jax.random.split(jax.random.key(4), 3)
    stacked = jax.vmap(lambda key: bias_from_fan_in(params, key))(keys)
    single = bias_from_fan_in(params, keys[2])

    np.testing.assert_array_equal(stacked["Dense_1"]["bias"][2], single["Dense_1"]["bias"])


def test_bias_layers_get_different_keys():
    params = {
        "a": {"kernel": jnp.zeros((50, 40)), "bias": jnp.zeros(40)},
        "b": {"kernel": jnp.zeros((50, 40)), "bias": jnp.zeros(40)},
    }
    result = bias_from_fan_in(params, jax.random.key(5))

    assert not np.array_equal(result["a"]["bias"], result["b"]["bias"])


def test_bias_nnx_state_round_trip():
    model = nnx.Linear(400, 30, rngs=nnx.Rngs(0))
    state = nnx.state(model, nnx.Param)
    pure = bias_from_fan_in(
        nnx.to_pure_dict(state), jax.random.key(6), scale=1 / 3, distribution="uniform"
    )
    nnx.replace_by_pure_dict(state, pure)
    nnx.update(model, state)

    assert float(jnp.abs(model.bias[...]).max()) <= 0.05
    assert float(jnp.abs(model.bias[...]).max()) > 0


def test_bias_without_layers_raises():
    message = (
        "bias_from_fan_in: no layer in params has both a 'kernel' and a 'bias' entry; "
        "pass kernel_name and bias_name if your layers use other names."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        bias_from_fan_in({"w": jnp.zeros((2, 2))}, jax.random.key(0))


def test_bias_bad_distribution_raises():
    message = (
        "bias_from_fan_in: distribution must be one of 'normal', 'truncated_normal', "
        "'uniform', got 'gaussian'."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        bias_from_fan_in(_mlp_params(), jax.random.key(0), distribution="gaussian")


def test_bias_negative_scale_raises():
    message = "bias_from_fan_in: scale must be non-negative, got -1.0."
    with pytest.raises(ValueError, match=re.escape(message)):
        bias_from_fan_in(_mlp_params(), jax.random.key(0), scale=-1.0)
