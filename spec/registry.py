"""The registry of frameworks: each backend declared once, as data.

Every list of backends in initspec (the adapters :func:`initspec.backends.load` accepts, the CLI
defaults, the runner and its workers, the native audit, the experiments, the portable cross-check
and benchmark, the report's colours) derives from :func:`names` / :func:`get`. Adding a framework
is one package under ``backends/`` plus one :func:`register` call (built-ins below).

A backend living in another project registers itself from a *plugin module* that calls
:func:`register` when imported, named either by an entry point in the ``initspec.backends`` group
of its distribution (``[project.entry-points."initspec.backends"] mine = "mypkg.initspec_plugin"``)
or by the environment variable ``INITSPEC_PLUGINS=mypkg.initspec_plugin,...`` (inherited by the
runner's worker processes). Plugins are imported on the first lookup; one that fails to import is
an error naming it, never a silently missing backend. See ``docs/adding-a-backend.md``.

The registry holds module *paths*, never modules: importing it imports no framework (it lives in
the spec layer, which imports no other layer).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import MappingProxyType

from initspec.errors import InitSpecError, unknown

#: Colour of a backend without a declared one in the report (neutral grey).
DEFAULT_COLOR = "#777777"
#: Entry-point group and environment variable naming plugin modules that register backends.
ENTRY_POINT_GROUP = "initspec.backends"
PLUGINS_ENV = "INITSPEC_PLUGINS"


@dataclass(frozen=True)
class Framework:
    """One backend of initspec.

    Attributes:
        name: the backend name used everywhere (``--backends torch``, ``load("torch")``).
        imports: modules that must import for the backend to be available (the framework itself),
            checked before the adapter is imported so that a missing framework is reported as such.
        adapter: module path of the adapter (the uniform harness API of :mod:`initspec.backends`
            plus the framework's idiomatic public API).
        label: human-readable name (report, tables).
        layout: the framework's own layout family in :mod:`initspec.layouts` (``"torch"``,
            ``"keras"``, ``"jax"``).
        portable: module path of its portable-stream sampler (``sample(scheme, shape, ...,
            stream=, seed=)``), or ``None`` when it has none.
        experiments: module path of its seed-claim experiment engine (``ENGINE``), or ``None``.
        natives: the :mod:`initspec.conformance.natives` frameworks whose native initializers are
            audited in this backend's worker process (Flax runs in the JAX process).
        devices: devices its adapter can target (``"cpu"``, ``"gpu"``).
        extra: the pip extra that installs it (``pip install 'initspec[torch]'``).
        color: its colour in the report's plots (Okabe-Ito for the built-ins).
        portable_bench: whether ``initspec portable bench`` times it by default.
        matrix_in_own_layout: the conformance matrix is drawn in the framework's own layout
            (each case translated to the same logical layer, :func:`initspec.layouts.translate`);
            ``False`` for the NumPy reference, which is checked in every layout of the matrix.
        model_bench: the label of its column in ``initspec bench --models`` (its adapter's ``bench``
            module has ``model_bench(model, quick)``), or ``None`` when it has none.
        model_audit: ``"module:function"`` of its whole-model audit sampler (``initspec audit``),
            or ``None``.
        model_roots: top-level module names of the model classes that sampler takes (``keras``,
            ``flax``), which also name the framework in ``initspec audit --framework``.
        startup_s: rough import time of the framework; the runner starts the slowest first.
        xla_compile_cache: its worker benefits from XLA's persistent compilation cache (the runner
            sets ``JAX_COMPILATION_CACHE_DIR`` for it unless the user configured one).
        keras_backend: the ``KERAS_BACKEND`` under which Keras runs on this framework, or ``None``.
            The Keras drop-in then draws through the adapter's ``keras_random`` module
            (``<adapter>.keras_random``) where it has one, and ``initspec bench`` times the drop-in
            in this framework's worker (started with ``KERAS_BACKEND`` set to it).
    """

    name: str
    imports: tuple[str, ...]
    adapter: str
    label: str
    layout: str
    portable: str | None = None
    experiments: str | None = None
    natives: tuple[str, ...] = ()
    devices: tuple[str, ...] = ("cpu",)
    extra: str = ""
    color: str = DEFAULT_COLOR
    portable_bench: bool = False
    matrix_in_own_layout: bool = True
    model_bench: str | None = None
    model_audit: str | None = None
    model_roots: tuple[str, ...] = ()
    startup_s: float = 0.0
    xla_compile_cache: bool = False
    keras_backend: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise InitSpecError(
                f"Argument `name` must be an identifier (a backend name). Received: name={self.name!r}")
        for attr in ("imports", "natives", "devices", "model_roots"):
            value = getattr(self, attr)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise InitSpecError(
                    f"Argument `{attr}` of backend {self.name!r} must be a tuple of str. "
                    f"Received: {attr}={value!r}")
            object.__setattr__(self, attr, tuple(value))
        unknown_devices = sorted(set(self.devices) - {"cpu", "gpu"})
        if unknown_devices or "cpu" not in self.devices:
            raise InitSpecError(
                f"Argument `devices` of backend {self.name!r} must contain 'cpu' and only 'cpu'/'gpu'. "
                f"Received: devices={self.devices!r}")

    @property
    def install_hint(self) -> str:
        return f"pip install 'initspec[{self.extra}]'" if self.extra else f"install {self.imports[0]!r}"


_REGISTRY: dict[str, Framework] = {}
_plugins_loaded = False


def load_plugins() -> None:
    """Import the plugin modules (entry points of :data:`ENTRY_POINT_GROUP`, then the modules named
    in :data:`PLUGINS_ENV`) once; each registers its backends. A plugin that fails to import raises
    :class:`initspec.errors.InitSpecError` naming it."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True  # set first: a plugin module calls register() -> names() while importing
    targets = [(f"entry point {ep.name!r}", ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    targets += [(PLUGINS_ENV, m.strip()) for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]
    for where, module in targets:
        try:
            importlib.import_module(module.split(":")[0])
        except Exception as e:
            raise InitSpecError(f"The initspec backend plugin {module!r} ({where}) failed to import "
                                f"({type(e).__name__}: {e}). Received: {where}={module!r}") from e


def register(framework: Framework, *, replace: bool = False) -> Framework:
    """Add ``framework`` to the registry; an existing name raises unless ``replace=True``."""
    if not isinstance(framework, Framework):
        raise TypeError(f"Argument `framework` must be an initspec.registry.Framework. "
                        f"Received: framework={framework!r}")
    if framework.name in _REGISTRY and not replace:
        raise InitSpecError(f"Backend {framework.name!r} is already registered; pass replace=True to "
                            "replace it.")
    _REGISTRY[framework.name] = framework
    return framework


def unregister(name: str) -> None:
    """Remove a backend (tests registering a temporary one); an unknown name raises."""
    get(name)
    del _REGISTRY[name]


def names() -> tuple[str, ...]:
    """Registered backend names, in registration order (built-ins: numpy, torch, tensorflow, jax,
    then plugins)."""
    load_plugins()
    return tuple(_REGISTRY)


def frameworks() -> Mapping[str, Framework]:
    """Read-only view ``name -> Framework``."""
    load_plugins()
    return MappingProxyType(_REGISTRY)


def get(name: str, *, argument: str = "backend") -> Framework:
    """The registered backend ``name``; anything else raises :class:`initspec.errors.UnknownNameError`
    naming the value, the closest registered names and all of them."""
    if isinstance(name, str) and name in _REGISTRY:
        return _REGISTRY[name]
    load_plugins()
    if isinstance(name, str) and name in _REGISTRY:
        return _REGISTRY[name]
    raise unknown("backend", argument, name, _REGISTRY)


def parse_names(text: str, *, argument: str = "--backends") -> tuple[str, ...]:
    """``"numpy,torch"`` -> ``("numpy", "torch")``; empty, unknown or repeated names raise."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    load_plugins()
    if not parts:
        raise InitSpecError(f"Argument `{argument}` names no backend (registered: {', '.join(_REGISTRY)}). "
                            f"Received: {argument}={text!r}")
    seen: list[str] = []
    for p in parts:
        get(p, argument=argument)
        if p in seen:
            raise InitSpecError(f"Backend {p!r} is repeated in `{argument}`. Received: {argument}={text!r}")
        seen.append(p)
    return tuple(seen)


def colors() -> dict[str, str]:
    """``name -> colour`` for the report."""
    return {f.name: f.color for f in frameworks().values()}


# --- the built-in backends ------------------------------------------------------------------
register(Framework(
    name="numpy", imports=("numpy", "scipy"), adapter="initspec.backends.numpy", label="NumPy (reference)",
    layout="keras", portable="initspec.backends.portable", experiments="initspec.conformance.experiments.numpy",
    natives=(), extra="", color="#0072B2", matrix_in_own_layout=False,
))
register(Framework(
    name="torch", imports=("torch",), adapter="initspec.backends.torch", label="PyTorch", layout="torch",
    portable="initspec.backends.torch.portable", experiments="initspec.conformance.experiments.torch",
    natives=("torch",), devices=("cpu", "gpu"), extra="torch", color="#D55E00", portable_bench=True,
    model_bench="torch", model_audit="initspec.backends.torch.audit:sample_module", model_roots=("torch",),
    startup_s=2.0, keras_backend="torch",
))
register(Framework(
    name="tensorflow", imports=("tensorflow",), adapter="initspec.backends.tensorflow",
    label="TensorFlow / Keras", layout="keras", portable="initspec.backends.tensorflow.portable",
    experiments="initspec.conformance.experiments.tensorflow", natives=("keras",), devices=("cpu", "gpu"),
    extra="tensorflow", color="#E69F00", portable_bench=True, model_bench="keras (tf)",
    model_audit="initspec.backends.keras.audit:sample_model", model_roots=("keras", "tensorflow"), startup_s=8.0,
    keras_backend="tensorflow",
))
register(Framework(
    name="jax", imports=("jax",), adapter="initspec.backends.jax", label="JAX / Flax", layout="jax",
    portable="initspec.backends.jax.portable", experiments="initspec.conformance.experiments.jax",
    natives=("jax", "flax"), devices=("cpu", "gpu"), extra="jax", color="#009E73", portable_bench=True,
    model_bench="flax (jax)", model_audit="initspec.backends.jax.audit:sample_linen", model_roots=("flax", "jax"),
    startup_s=3.0, xla_compile_cache=True, keras_backend="jax",
))
