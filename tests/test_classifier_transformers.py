"""transformers backend with tiny models built locally (no downloads)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from classifiers import ClassifierConfig, ClassifierError, TransformersConfig, load_classifier  # noqa: E402
from classifiers.hf import pull  # noqa: E402

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "ik", "steek", "die", "leraar", "neer", "fijne", "dag", "juf"]


def tiny_model(path, num_labels: int, winner: int) -> str:
    """A random 1-layer BERT whose classifier bias makes output `winner` always win."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]"
    )
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(WORDS),
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=16,
        num_labels=num_labels,
    )
    model = BertForSequenceClassification(cfg)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.fill_(-5.0)
        model.classifier.bias[winner] = 5.0
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return str(path)


def cfg_for(tmp_path, sent_winner=2, tox_winner=0, sev_winner=0, **kw) -> ClassifierConfig:
    t = TransformersConfig(
        sentiment_model=tiny_model(tmp_path / "sent", 3, sent_winner),
        toxicity_model=tiny_model(tmp_path / "tox", 2, tox_winner),
        severity_model=tiny_model(tmp_path / "sev", 4, sev_winner),
        **kw,
    )
    return ClassifierConfig(backend="transformers", transformers=t)


def test_label_mapping_by_index(tmp_path):
    # sentiment output 0 -> "negative" per the default mapping; severity index 3 -> threat
    clf = load_classifier(cfg_for(tmp_path, sent_winner=0, sev_winner=3))
    (lab,) = clf.classify(["fijne dag juf"])
    assert (lab.sentiment, lab.harm) == ("negative", "threat")
    assert lab.scores["harm.threat"] > 0.9 and lab.classifier.startswith("transformers/")


def test_custom_mapping_and_toxicity(tmp_path):
    c = cfg_for(tmp_path, sent_winner=0, tox_winner=1, sev_winner=1)
    c.transformers.sentiment_labels = ["positive", "neutral", "negative"]  # a model ordered the other way
    (lab,) = load_classifier(c).classify(["fijne dag juf"])
    assert lab.sentiment == "positive"  # index 0 mapped by our list, not the model's names
    assert lab.harm == "insult" and lab.cues == ("model:insult",)  # severity "none" but toxic


def test_rules_threat_wins_over_model(tmp_path):
    clf = load_classifier(cfg_for(tmp_path, sent_winner=2, sev_winner=0))
    out = clf.classify(["ik steek die leraar neer", "fijne dag"])
    assert [o.harm for o in out] == ["threat", "none"]
    assert out[0].cues and not out[0].cues[0].startswith("model:")


def test_batching_and_truncation(tmp_path):
    c = cfg_for(tmp_path, batch_size=2, max_length=8)  # 16 positions: an untruncated long post would fail
    clf = load_classifier(c)
    texts = ["fijne dag"] * 4 + [" ".join(["juf"] * 200)]
    out = clf.classify(texts)
    assert len(out) == 5 and all(o.sentiment == "positive" for o in out)
    m = clf.sentiment
    calls = []
    orig = m.model.forward
    m.model.forward = lambda **kw: (calls.append(kw["input_ids"].shape), orig(**kw))[1]
    m.predict(texts)
    assert [s[0] for s in calls] == [2, 2, 1] and max(s[1] for s in calls) <= 8


def test_wrong_label_count_is_one_clear_error(tmp_path):
    c = cfg_for(tmp_path)
    c.transformers.severity_labels = ["none", "threat"]
    with pytest.raises(ClassifierError, match="4 outputs but 2 labels"):
        load_classifier(c)
    c.transformers.severity_labels = ["none", "none", "insult", "bomb"]
    with pytest.raises(ClassifierError, match="bomb"):
        load_classifier(c)


def test_offline_missing_model_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t = TransformersConfig(sentiment_model="someone/not-cached-model", toxicity_model="none", severity_model="none")
    with pytest.raises(ClassifierError, match="offline"):
        load_classifier(ClassifierConfig(backend="transformers", transformers=t))
    with pytest.raises(ClassifierError, match="offline"):
        pull(t)


def test_models_pull_offline_cli(monkeypatch):
    import click
    from click.testing import CliRunner

    from edumon.cli.classify import COMMANDS

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    group = next(c for c in COMMANDS if c.name == "models")
    r = CliRunner().invoke(click.Group(commands=[group]), ["models", "pull"])
    assert r.exit_code != 0 and "cannot download" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
