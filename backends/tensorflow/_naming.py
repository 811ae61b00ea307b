"""Names and docstrings of the per-scheme public API (framework-free): ``he_normal`` is the TF
function and ``HeNormal`` the Keras class of the spec scheme ``"he_normal"``."""

from __future__ import annotations

from initspec.schemes import SCHEMES, Scheme

__all__ = ["COMMON_ARGS", "class_name", "param_names", "scheme_doc"]

#: Arguments every initializer takes besides its scheme's parameters.
COMMON_ARGS = ("seed", "layout", "groups", "fans")


def class_name(scheme_name: str) -> str:
    """CamelCase class name of a scheme: ``"he_truncated_normal"`` -> ``"HeTruncatedNormal"``."""
    return "".join(part.capitalize() for part in scheme_name.split("_"))


def param_names(sch: Scheme) -> tuple[str, ...]:
    """The scheme's own parameters, in table order (``groups`` is the common argument)."""
    return tuple(p for p in sch.params if p not in COMMON_ARGS)


def scheme_doc(sch: Scheme, what: str) -> str:
    """Docstring of a generated class/function: the table's summary plus the loud naming notes."""
    lines = [sch.summary, "", f"{what} for the spec scheme {sch.name!r}."]
    trunc = sch.name.replace("_normal", "_truncated_normal")
    if sch.name.endswith("_normal") and trunc in SCHEMES and trunc != sch.name:
        lines += ["", (f"NOTE: {class_name(sch.name)} is the UNTRUNCATED normal. Keras' own "
                       f"keras.initializers.{class_name(sch.name)} is the TRUNCATED (+-2 sigma) normal: "
                       f"that one is {class_name(trunc)} here.")]
    if sch.name == "variance_scaling":
        lines += ["", ("NOTE: distribution='normal' is the UNTRUNCATED normal here (Keras maps 'normal' "
                       "to 'truncated_normal'); 'untruncated_normal' is accepted as a synonym.")]
    names = param_names(sch)
    if names:
        lines += ["", "Parameters (defaults): " + ", ".join(f"{n}={sch.defaults[n]!r}" for n in names)]
    return "\n".join(lines)
