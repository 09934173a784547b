"""jaxinit schemes inside Flax: linen Dense, Conv and Embed, partitioning metadata, NNX, pickling.

Each model built with a jaxinit scheme is compared with the same model built
with the namesake from ``jax.nn.initializers``: Flax derives the same key for
each parameter, so equal schemes give equal parameters.
"""

import pickle

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxinit

KEY = jax.random.key(0)
J = jax.nn.initializers


def _assert_trees_equal(ours, theirs):
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        assert a.shape == b.shape
        assert a.dtype == b.dtype
        assert bool(jnp.array_equal(a, b))


class _Model(nn.Module):
    """An embedding, a convolution and two dense layers, each with its own scheme."""

    kernel_init: object
    conv_init: object
    embedding_init: object
    bias_init: object
    kernel_size: tuple[int, ...] = (3,)

    @nn.compact
    def __call__(self, tokens, signals):
        embedded = nn.Embed(20, 8, embedding_init=self.embedding_init)(tokens)
        conv = nn.Conv(6, self.kernel_size, kernel_init=self.conv_init, bias_init=self.bias_init)
        features = conv(signals)
        hidden = nn.Dense(16, kernel_init=self.kernel_init, bias_init=self.bias_init)(embedded)
        pooled = features.mean(axis=tuple(range(1, features.ndim - 1)))
        return nn.Dense(3, kernel_init=self.kernel_init)(jnp.concatenate([hidden, pooled], -1))


def _init(model, *, jit):
    tokens = jnp.array([1, 2, 3])
    signals = jnp.ones((3, *(8 for _ in model.kernel_size), 4))
    init = jax.jit(model.init) if jit else model.init
    return init(KEY, tokens, signals)


# XLA's CPU backend takes several seconds to compile a sampler for a rank-4
# kernel, for jax.nn.initializers as for jaxinit, so the fast tests use 1-D
# convolutions (rank-3 kernels) and the 2-D ones run in the slow step.
KERNEL_SIZES = [
    pytest.param((3,), id="conv1d"),
    pytest.param((3, 3), id="conv2d", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("kernel_size", KERNEL_SIZES)
def test_linen_model_equals_jax_initializers(kernel_size):
    ours = _Model(
        kernel_init=jaxinit.glorot_uniform(),
        conv_init=jaxinit.he_normal(),
        # The embedding table is (num_embeddings, features); its fan-in is the
        # features axis, as in Flax's default variance_scaling(1, "fan_in",
        # "normal", out_axis=0), whose in_axis -2 also names axis 0.
        embedding_init=jaxinit.variance_scaling(1.0, "fan_in", "normal", in_axis=-1, out_axis=0),
        bias_init=jaxinit.constant(0.1),
        kernel_size=kernel_size,
    )
    theirs = _Model(
        kernel_init=J.glorot_uniform(),
        conv_init=J.he_normal(),
        embedding_init=J.variance_scaling(1.0, "fan_in", "normal", out_axis=0),
        bias_init=J.constant(0.1),
        kernel_size=kernel_size,
    )
    # The reference is JAX's eager call: under an outer jit XLA may fold the
    # scale of jax.nn.initializers into the sampler and move the last bit,
    # while jaxinit gives the same bits either way.
    _assert_trees_equal(_init(ours, jit=True), _init(theirs, jit=False))


def test_linen_parameters_equal_direct_calls():
    captured = {}

    def recording_init(key, shape, dtype):
        captured.update(key=key, shape=shape, dtype=dtype)
        return jnp.zeros(shape, dtype)

    x = jnp.ones((1, 7))
    variables = nn.Dense(5, kernel_init=jaxinit.lecun_normal()).init(KEY, x)
    nn.Dense(5, kernel_init=recording_init).init(KEY, x)

    # Flax hands the kernel's initializer the same key in both models.
    expected = jaxinit.lecun_normal()(captured["key"], captured["shape"], captured["dtype"])
    assert captured["shape"] == (7, 5)
    assert bool(jnp.array_equal(variables["params"]["kernel"], expected))


def test_linen_embed_variance():
    table = nn.Embed(2000, 64, embedding_init=jaxinit.fan_in_normal(in_axis=-1, out_axis=0))
    variables = table.init(KEY, jnp.array([0]))
    embedding = np.asarray(variables["params"]["embedding"], dtype=np.float64)
    assert embedding.shape == (2000, 64)
    # 128000 draws of N(0, 1/64): the variance estimate has standard error
    # sqrt(2 / n) / 64.
    n = embedding.size
    assert abs(embedding.var() - 1 / 64) <= 6 * np.sqrt(2.0 / n) / 64


def test_linen_with_partitioning_metadata_and_values():
    model = nn.Dense(4, kernel_init=nn.with_partitioning(jaxinit.lecun_normal(), ("x", None)))
    plain = nn.Dense(4, kernel_init=J.lecun_normal())
    variables = model.init(KEY, jnp.ones((1, 8)))
    expected = plain.init(KEY, jnp.ones((1, 8)))

    kernel = variables["params"]["kernel"]
    assert isinstance(kernel, nn.Partitioned)
    assert kernel.names == ("x", None)
    assert bool(jnp.array_equal(kernel.value, expected["params"]["kernel"]))
    specs = nn.get_partition_spec(variables)
    assert specs["params"]["kernel"] == jax.sharding.PartitionSpec("x", None)


def test_linen_with_partitioning_sharded_under_jit():
    mesh = jax.make_mesh((8,), ("x",), axis_types=(jax.sharding.AxisType.Auto,))
    model = nn.Dense(16, kernel_init=nn.with_partitioning(jaxinit.glorot_uniform(), ("x", None)))
    x = jnp.ones((1, 64))
    abstract = jax.eval_shape(model.init, KEY, x)
    shardings = nn.get_sharding(abstract, mesh)
    variables = jax.jit(model.init, out_shardings=shardings)(KEY, x)

    kernel = variables["params"]["kernel"].value
    assert {shard.data.shape for shard in kernel.addressable_shards} == {(8, 16)}
    expected = nn.Dense(16, kernel_init=J.glorot_uniform()).init(KEY, x)
    assert bool(jnp.array_equal(kernel, expected["params"]["kernel"]))


@pytest.mark.parametrize("kernel_size", KERNEL_SIZES)
def test_nnx_linear_and_conv_equal_jax_initializers(kernel_size):
    ours = jaxinit.fan_in_normal()
    theirs = J.variance_scaling(1.0, "fan_in", "normal")
    linear = nnx.Linear(12, 5, kernel_init=ours, rngs=nnx.Rngs(0))
    linear_jax = nnx.Linear(12, 5, kernel_init=theirs, rngs=nnx.Rngs(0))
    conv = nnx.Conv(4, 6, kernel_size, kernel_init=ours, rngs=nnx.Rngs(1))
    conv_jax = nnx.Conv(4, 6, kernel_size, kernel_init=theirs, rngs=nnx.Rngs(1))

    assert linear.kernel[...].shape == (12, 5)
    assert conv.kernel[...].shape == (*kernel_size, 4, 6)
    assert bool(jnp.array_equal(linear.kernel[...], linear_jax.kernel[...]))
    assert bool(jnp.array_equal(conv.kernel[...], conv_jax.kernel[...]))


def test_nnx_param_dtype_reaches_scheme():
    linear = nnx.Linear(
        8, 4, kernel_init=jaxinit.fan_in_normal(), param_dtype=jnp.bfloat16, rngs=nnx.Rngs(0)
    )
    assert linear.kernel[...].dtype == jnp.bfloat16


def test_linen_dense_pickles():
    model = nn.Dense(4, kernel_init=jaxinit.lecun_normal())
    restored = pickle.loads(pickle.dumps(model))
    assert restored.kernel_init == jaxinit.lecun_normal()
    x = jnp.ones((1, 3))
    _assert_trees_equal(restored.init(KEY, x), model.init(KEY, x))
