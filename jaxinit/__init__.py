"""jaxinit: parameter initialization for JAX and Flax."""

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
from jaxinit.core import Initializer as Initializer
from jaxinit.fans import calculate_gain as calculate_gain
from jaxinit.fans import compute_fans as compute_fans
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
