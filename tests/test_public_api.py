import inspect
import types

import jaxinit
from jaxinit.registry import get, list_schemes

REGISTRY_NAMES = [name for name, _ in list_schemes()]
BASE_NAMES = [name for name in REGISTRY_NAMES if ":" not in name]


def _namespace_names():
    """Return the names bound in ``jaxinit`` that are neither private nor submodules."""
    return {
        name
        for name in dir(jaxinit)
        if not name.startswith("_") and not isinstance(getattr(jaxinit, name), types.ModuleType)
    }


def test_all_is_sorted_and_unique():
    assert jaxinit.__all__ == sorted(jaxinit.__all__)
    assert len(set(jaxinit.__all__)) == len(jaxinit.__all__)


def test_all_names_exactly_the_public_names():
    assert set(jaxinit.__all__) == _namespace_names()


def test_registry_functions_exported():
    assert jaxinit.get is get
    assert jaxinit.list_schemes is list_schemes
    assert {"get", "to_config", "list_schemes", "scaled", "per_slice"} <= set(jaxinit.__all__)


def test_every_registry_base_name_importable():
    missing = [name for name in BASE_NAMES if name not in jaxinit.__all__]

    assert missing == []


def test_registry_base_names_build_the_exported_scheme():
    for name in BASE_NAMES:
        exported = getattr(jaxinit, name)
        if isinstance(exported, jaxinit.Initializer):
            assert get(name) is exported, name
            continue
        parameters = inspect.signature(exported).parameters.values()
        if all(parameter.default is not parameter.empty for parameter in parameters):
            assert get(name) == exported(), name
