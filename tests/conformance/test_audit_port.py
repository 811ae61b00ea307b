"""``initspec diff`` of one architecture written in two frameworks (issue 13): every logical
tensor matched by its canonical name (torch's fused ``attn.in_proj_weight`` blocks <-> Flax
``attn.query.kernel`` / Keras ``attn/query/kernel``...), variance ratios as documented in
docs/audit.md, and the HTML page of a real diff."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.torch  # every test builds the torch model; the other side adds its marker
torch = pytest.importorskip("torch")

from initspec.conformance.audit_api import audit, diff  # noqa: E402

E, H, VOCAB, HIDDEN = 32, 4, 50, 64
#: law variance ratio Flax / torch per canonical name: torch Linear default (1/3 of LeCun) vs Flax
#: lecun_normal (3), torch N(0, 1) embedding vs Flax 1/sqrt(E) (1/32), torch xavier on the stacked
#: (3E, E) in_proj vs LeCun on E (2), a U(+-1/sqrt(fan_in)) bias vs zeros (0), ones/zeros alike (1)
FLAX_RATIOS = {"emb.embedding": "1/32", "attn.q.weight": "2", "attn.k.weight": "2", "attn.v.weight": "2",
               "attn.q.bias": "1", "attn.k.bias": "1", "attn.v.bias": "1", "attn.o.weight": "3", "attn.o.bias": "1",
               "ln.scale": "1", "ln.shift": "1", "fc1.weight": "3", "fc1.bias": "0", "fc2.weight": "3", "fc2.bias": "0"}
#: Keras / torch: Glorot on Keras' raw compute_fans of the (E, H, D) query kernel (fan_in H*E, fan_out D*E)
#: vs torch's xavier on (3E, E) (1/3), of the (H, D, E) output kernel vs torch's Linear default (6/5),
#: Glorot (32, 64) vs torch's Linear default (2)
KERAS_RATIOS = {"attn.q.weight": "1/3", "attn.k.weight": "1/3", "attn.v.weight": "1/3", "attn.q.bias": "1",
                "attn.k.bias": "1", "attn.v.bias": "1", "attn.o.weight": "6/5", "attn.o.bias": "1",
                "fc1.weight": "2", "fc1.bias": "0"}


class Block(torch.nn.Module):
    def __init__(self, embed: bool = True):
        super().__init__()
        if embed:
            self.emb = torch.nn.Embedding(VOCAB, E)
        self.attn = torch.nn.MultiheadAttention(E, H, batch_first=True)
        if embed:
            self.ln = torch.nn.LayerNorm(E)
            self.fc1, self.fc2 = torch.nn.Linear(E, HIDDEN), torch.nn.Linear(HIDDEN, E)
        else:
            self.fc1 = torch.nn.Linear(E, HIDDEN)


def _check(d, ratios):
    assert d["unmatched_a"] == [] and d["unmatched_b"] == []
    rows = {r["canonical"]: r for r in d["rows"]}
    assert {k: r["law_ratio"] for k, r in rows.items()} == ratios
    for r in rows.values():
        law, measured = r["law_variance_ratio"], r["variance_ratio"]
        assert measured == pytest.approx(law, rel=0.2, abs=1e-12), r
        assert r["match"] == "canonical" and r["a_verdict"] != "departure" and r["b_verdict"] != "departure"


@pytest.mark.jax
def test_torch_vs_flax_port(tmp_path):
    jnp = pytest.importorskip("jax.numpy")
    nn = pytest.importorskip("flax.linen")

    class FBlock(nn.Module):
        @nn.compact
        def __call__(self, ids):
            x = nn.Embed(VOCAB, E, name="emb")(ids)
            x = nn.MultiHeadDotProductAttention(num_heads=H, qkv_features=E, out_features=E, name="attn")(x, x)
            x = nn.LayerNorm(name="ln")(x)
            return nn.Dense(E, name="fc2")(nn.Dense(HIDDEN, name="fc1")(x))

    a, b = audit(Block(), seeds=6), audit(FBlock(), jnp.zeros((1, 4), jnp.int32), seeds=6)
    d = diff(a, b)
    _check(d, FLAX_RATIOS)
    assert {r["canonical"]: r["b"] for r in d["rows"]}["attn.q.weight"] == "attn.query.kernel"

    from initspec.reports.audit_view import write_audit_html

    html = write_audit_html([d, a.to_dict(), b.to_dict()], tmp_path / "diff.html").path.read_text()
    assert "attn.in_proj_weight[0]" in html and "attn.query.kernel" in html and "<script" not in html


@pytest.mark.tensorflow
def test_torch_vs_keras_attention():
    keras = pytest.importorskip("keras")
    inp = keras.Input((4, E))
    x = keras.layers.MultiHeadAttention(num_heads=H, key_dim=E // H, name="attn")(inp, inp)
    k = keras.Model(inp, keras.layers.Dense(HIDDEN, name="fc1")(x))
    d = diff(audit(Block(embed=False), seeds=6), audit(k, seeds=6))
    _check(d, KERAS_RATIOS)
    assert {r["canonical"]: r["b"] for r in d["rows"]}["attn.o.weight"] == "attn/attention_output/kernel"


def test_real_audit_html(tmp_path):
    from initspec.cli import main

    out = tmp_path / "audit.html"
    assert main(["audit", "tests.conformance.test_audit_port:Block", "--html", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "Audit: Block (torch)" in html and "attn.q.weight" in html and "matches" in html


def test_cli_diff_html(tmp_path, capsys):
    from initspec.cli import main

    out = tmp_path / "diff.html"
    target = "tests.conformance.test_audit_port:Block"
    assert main(["diff", target, target, "--html", str(out)]) == 0
    assert "initspec diff: Block (torch) vs Block (torch)" in capsys.readouterr().out
    html = out.read_text(encoding="utf-8")
    assert html.count("<section") == 3 and "Diff: Block (torch) vs Block (torch)" in html
    assert main(["diff", target, "torch.nn:ReLU"]) == 2
