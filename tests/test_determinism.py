"""Same key, same bits: eagerly, under jit and vmap, chunked, sharded, and in another process."""

import json
import subprocess
import sys
import textwrap

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import jaxinit
from jaxinit.ensemble import init_many, member_keys

SCHEMES = {
    "fan_in_normal": jaxinit.fan_in_normal(),
    "lecun_normal": jaxinit.lecun_normal(),
    "glorot_uniform": jaxinit.glorot_uniform(),
    "normal": jaxinit.normal(0.02),
    "truncated_normal": jaxinit.truncated_normal(0.02),
}
SHAPE = (96, 64)


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_same_bits_eager_jit_vmap(name):
    scheme = SCHEMES[name]
    keys = jax.random.split(jax.random.key(7), 4)
    eager = np.asarray(scheme(keys[2], SHAPE))
    jitted = np.asarray(jax.jit(lambda key: scheme(key, SHAPE))(keys[2]))
    vmapped = np.asarray(jax.vmap(lambda key: scheme(key, SHAPE))(keys)[2])

    np.testing.assert_array_equal(jitted, eager)
    np.testing.assert_array_equal(vmapped, eager)


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_same_bits_sharded(name):
    scheme = SCHEMES[name]
    key = jax.random.key(8)
    mesh = Mesh(np.array(jax.devices()[:8]), ("x",))
    sharding = NamedSharding(mesh, PartitionSpec("x", None))
    sharded = jax.jit(lambda key: scheme(key, SHAPE), out_shardings=sharding)(key)

    assert sharded.sharding == sharding
    np.testing.assert_array_equal(np.asarray(sharded), np.asarray(scheme(key, SHAPE)))


class _Mlp(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.Dense(32, kernel_init=jaxinit.lecun_normal())(x)
        return nn.Dense(4, kernel_init=jaxinit.fan_in_normal())(nn.relu(x))


def test_same_bits_init_many_chunked():
    model = _Mlp()
    x = jnp.ones((1, 16))
    keys = member_keys(3, 7)
    whole = init_many(model.init, keys, x)
    chunked = init_many(model.init, keys, x, chunk_size=3)
    single = model.init(keys[5], x)

    for stacked in (whole, chunked):
        for got, expected in zip(
            jax.tree.leaves(stacked), jax.tree.leaves(single), strict=True
        ):
            np.testing.assert_array_equal(np.asarray(got[5]), np.asarray(expected))


_CHILD = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    import jaxinit
    values = {}
    for name in ["fan_in_normal", "lecun_normal", "glorot_uniform"]:
        scheme = getattr(jaxinit, name)()
        array = np.asarray(scheme(jax.random.key(11), (96, 64)))
        values[name] = array.view(np.uint32).tolist()
    json.dump(values, sys.stdout)
    """
)


def test_same_bits_in_another_process():
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True, timeout=120
    )
    child = json.loads(completed.stdout)

    for name, bits in child.items():
        expected = np.asarray(getattr(jaxinit, name)()(jax.random.key(11), (96, 64)))
        np.testing.assert_array_equal(np.asarray(bits, np.uint32), expected.view(np.uint32))
