"""jaxinit: parameter initialization for JAX and Flax.

Every scheme is an ``init(key, shape, dtype=None, out_sharding=None)`` callable
that drops in wherever ``jax.nn.initializers`` is used. ``jaxinit.ensemble``
initializes and trains many seeds at once, and ``jaxinit compare`` (the
command-line job) ranks schemes on real data.
"""

from jaxinit.basic import Constant as Constant
from jaxinit.basic import Normal as Normal
from jaxinit.basic import Ones as Ones
from jaxinit.basic import TruncatedNormal as TruncatedNormal
from jaxinit.basic import Uniform as Uniform
from jaxinit.basic import Zeros as Zeros
from jaxinit.basic import constant as constant
from jaxinit.basic import normal as normal
from jaxinit.basic import ones as ones
from jaxinit.basic import truncated_normal as truncated_normal
from jaxinit.basic import uniform as uniform
from jaxinit.basic import zeros as zeros
from jaxinit.combinators import PerSlice as PerSlice
from jaxinit.combinators import Scaled as Scaled
from jaxinit.combinators import per_slice as per_slice
from jaxinit.combinators import scaled as scaled
from jaxinit.core import Initializer as Initializer
from jaxinit.fans import calculate_gain as calculate_gain
from jaxinit.fans import compute_fans as compute_fans
from jaxinit.registry import get as get
from jaxinit.registry import list_schemes as list_schemes
from jaxinit.registry import to_config as to_config
from jaxinit.structured import DeltaOrthogonal as DeltaOrthogonal
from jaxinit.structured import Dirac as Dirac
from jaxinit.structured import Identity as Identity
from jaxinit.structured import Orthogonal as Orthogonal
from jaxinit.structured import Siren as Siren
from jaxinit.structured import SmallInit as SmallInit
from jaxinit.structured import Sparse as Sparse
from jaxinit.structured import ZerO as ZerO
from jaxinit.structured import delta_orthogonal as delta_orthogonal
from jaxinit.structured import dirac as dirac
from jaxinit.structured import identity as identity
from jaxinit.structured import orthogonal as orthogonal
from jaxinit.structured import siren as siren
from jaxinit.structured import small_init as small_init
from jaxinit.structured import sparse as sparse
from jaxinit.structured import zero_init as zero_init
from jaxinit.tree import bias_from_fan_in as bias_from_fan_in
from jaxinit.variance import VarianceScaling as VarianceScaling
from jaxinit.variance import fan_avg_normal as fan_avg_normal
from jaxinit.variance import fan_avg_truncated_normal as fan_avg_truncated_normal
from jaxinit.variance import fan_avg_uniform as fan_avg_uniform
from jaxinit.variance import fan_in_normal as fan_in_normal
from jaxinit.variance import fan_in_truncated_normal as fan_in_truncated_normal
from jaxinit.variance import fan_in_uniform as fan_in_uniform
from jaxinit.variance import fan_out_normal as fan_out_normal
from jaxinit.variance import fan_out_truncated_normal as fan_out_truncated_normal
from jaxinit.variance import fan_out_uniform as fan_out_uniform
from jaxinit.variance import glorot_normal as glorot_normal
from jaxinit.variance import glorot_uniform as glorot_uniform
from jaxinit.variance import he_normal as he_normal
from jaxinit.variance import he_uniform as he_uniform
from jaxinit.variance import kaiming_normal as kaiming_normal
from jaxinit.variance import kaiming_uniform as kaiming_uniform
from jaxinit.variance import lecun_normal as lecun_normal
from jaxinit.variance import lecun_uniform as lecun_uniform
from jaxinit.variance import variance_scaling as variance_scaling
from jaxinit.variance import xavier_normal as xavier_normal
from jaxinit.variance import xavier_uniform as xavier_uniform

__version__ = "0.1.0"

__all__ = [
    "Constant",
    "DeltaOrthogonal",
    "Dirac",
    "Identity",
    "Initializer",
    "Normal",
    "Ones",
    "Orthogonal",
    "PerSlice",
    "Scaled",
    "Siren",
    "SmallInit",
    "Sparse",
    "TruncatedNormal",
    "Uniform",
    "VarianceScaling",
    "ZerO",
    "Zeros",
    "bias_from_fan_in",
    "calculate_gain",
    "compute_fans",
    "constant",
    "delta_orthogonal",
    "dirac",
    "fan_avg_normal",
    "fan_avg_truncated_normal",
    "fan_avg_uniform",
    "fan_in_normal",
    "fan_in_truncated_normal",
    "fan_in_uniform",
    "fan_out_normal",
    "fan_out_truncated_normal",
    "fan_out_uniform",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "list_schemes",
    "normal",
    "ones",
    "orthogonal",
    "per_slice",
    "scaled",
    "siren",
    "small_init",
    "sparse",
    "to_config",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zero_init",
    "zeros",
]
