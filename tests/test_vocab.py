"""Domain vocabulary: term lists, extension with mean-initialised rows, stable ids, removal, inspection,
boundary conflicts and --char-level, mining, and masked-LM adaptation, with tiny random models."""

import json
import random

import pytest
import torch
from click.testing import CliRunner

from bertanno.app.training_runs import train_project
from bertanno.cli import cli
from bertanno.core.bundle import load_version, save_version
from bertanno.core.import_export import import_file
from bertanno.core.training import TrainConfig
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example, Span, without_added_terms
from bertanno.store import Store
from bertanno.store.projects import create_project, get_project
from bertanno.store.schema import Vocabulary
from bertanno.store.versions import list_versions
from bertanno.vocab.adapt import mask_units, term_units
from bertanno.vocab.domain_vocabulary import add_lists, describe, remove_lists
from bertanno.vocab.extend import apply_vocabulary, extend_bundle
from bertanno.vocab.inspection import project_stats
from bertanno.vocab.mining import mine, recurring_strings
from bertanno.vocab.terms import load_term_list, parse_terms, read_term_list

TUTORIAL_TERMS = ["新冠病毒", "高血压", "脑梗塞"]
QUICK = TrainConfig(epochs=1, batch_size=8, learning_rate=1e-3, seed=0)


def tokens(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def test_a_term_list_reports_what_it_skips():
    lines = ["# medical terms\n", "高血压\tdisease\t11\n", "\n", "脑梗塞  # comment after the term\n",
             "高血压\n", "两个 词\n", "糖尿病\tdisease\tmany\n", "新冠病毒\n"]
    result = parse_terms(lines, "test", "test.txt")
    assert result.texts == ["高血压", "脑梗塞", "新冠病毒"]
    assert result.terms[0].category == "disease" and result.terms[0].frequency == 11
    assert result.duplicates == [(5, "高血压")]
    assert [line for line, _ in result.malformed] == [6, 7]
    assert result.blank == 1


def test_the_builtin_lists_are_registered_and_made_of_multi_token_terms(plugins, make_bundle):
    tokenizer = without_added_terms(make_bundle(task="ner", labels=["x"]).tokenizer)
    for name, least in (("medical", 500), ("legal", 300)):
        assert name in plugins.vocabularies
        term_list = load_term_list(name, plugins)
        assert len(term_list.terms) >= least and not term_list.duplicates and not term_list.malformed
        assert all(len(tokenizer.tokenize(term)) > 1 for term in term_list.texts)
    assert "高血压" in load_term_list("medical", plugins).texts
    with pytest.raises(BertannoError, match="neither a term list file nor a known list"):
        load_term_list("no-such-list", plugins)


def test_the_tutorial_terms_become_one_token_each_with_mean_rows_and_stable_ids(make_bundle, tmp_path, plugins):
    bundle = make_bundle(task="ner", labels=["disease"], layers=1, hidden=32)
    bundle = load_version(save_version(bundle, tmp_path / "copy"), plugins)  # a private copy to extend
    base = without_added_terms(bundle.tokenizer)
    rows_before = bundle.model.get_input_embeddings().weight.detach().clone()
    pieces = {term: tokens(base, term) for term in TUTORIAL_TERMS}
    assert all(len(p) == len(t) for t, p in zip(TUTORIAL_TERMS, pieces.values()))  # one token per character

    plan = extend_bundle(bundle, TUTORIAL_TERMS + ["病"])
    assert plan.added == TUTORIAL_TERMS and plan.single_token == ["病"]
    weight = bundle.model.get_input_embeddings().weight
    for term in TUTORIAL_TERMS:
        [token_id] = tokens(bundle.tokenizer, term)
        assert token_id >= rows_before.shape[0]
        assert torch.allclose(weight[token_id], rows_before[pieces[term]].mean(dim=0))
    assert torch.equal(weight[: rows_before.shape[0]], rows_before)  # old rows untouched
    sentence = "新冠病毒是一种新型冠状病毒，高血压和脑梗塞"
    ids = tokens(bundle.tokenizer, sentence)

    reloaded = load_version(save_version(bundle, tmp_path / "extended"), plugins)
    assert reloaded.added_terms == TUTORIAL_TERMS
    assert tokens(reloaded.tokenizer, sentence) == ids
    assert torch.equal(reloaded.model.get_input_embeddings().weight, weight)
    assert tokens(without_added_terms(reloaded.tokenizer), sentence) == tokens(base, sentence)


def ner_lines():
    """Twelve distinct sentences, nine with one disease entity each."""
    rows = []
    for n in range(3):
        for text, surface in (("患者有高血压病史十年", "高血压"), ("新冠病毒感染后发热", "新冠病毒"),
                              ("脑梗塞后遗症", "脑梗塞"), ("今天天气很好", None)):
            text = f"{n + 1}号{text}"
            spans = [[text.index(surface), text.index(surface) + len(surface), "disease"]] if surface else []
            rows.append(json.dumps({"text": text, "spans": spans}, ensure_ascii=False))
    return "\n".join(rows) + "\n"


@pytest.fixture
def ner_project(tmp_path, make_bundle, monkeypatch):
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    base = save_version(make_bundle(task="ner", labels=["disease"], layers=1, hidden=32), tmp_path / "base")
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.transaction() as session:
        create_project(session, "clinic", "ner", ["disease"], str(base))
    (tmp_path / "clinic.jsonl").write_text(ner_lines(), encoding="utf-8")
    import_file(store, "clinic", tmp_path / "clinic.jsonl")
    (tmp_path / "tutorial.txt").write_text("\n".join(TUTORIAL_TERMS) + "\n", encoding="utf-8")
    yield store
    store.close()


def test_versions_carry_their_terms_and_removing_the_list_restores_the_tokenization(ner_project, tmp_path, plugins):
    store = ner_project
    changes, _ = add_lists(store, "clinic", [read_term_list(tmp_path / "tutorial.txt")])
    assert changes[0].changed == TUTORIAL_TERMS
    again, _ = add_lists(store, "clinic", [read_term_list(tmp_path / "tutorial.txt")])
    assert again[0].changed == [] and again[0].unchanged == TUTORIAL_TERMS
    summary = describe(store, "clinic")
    assert summary.terms == TUTORIAL_TERMS and summary.hash

    train_project(store, "clinic", QUICK)
    remove_lists(store, "clinic", [read_term_list(tmp_path / "tutorial.txt")])
    assert describe(store, "clinic").terms == []
    train_project(store, "clinic", QUICK)

    with store.transaction() as session:
        project = get_project(session, "clinic")
        first, second = list_versions(session, project.id)
        stored = session.query(Vocabulary).filter_by(hash=first.vocab_hash).one()
        assert stored.terms == TUTORIAL_TERMS and second.vocab_hash is None
        base_dir = project.model
    with_terms, without = load_version(first.directory, plugins), load_version(second.directory, plugins)
    original = load_version(base_dir, plugins)
    text = "新冠病毒和高血压"
    assert with_terms.added_terms == TUTORIAL_TERMS and len(tokens(with_terms.tokenizer, text)) == 3
    assert tokens(without.tokenizer, text) == tokens(original.tokenizer, text)
    assert without.added_terms == []


def test_a_model_cannot_be_shrunk_to_a_smaller_vocabulary(make_bundle, tmp_path, plugins):
    bundle = load_version(save_version(make_bundle(task="ner", labels=["disease"], layers=1, hidden=32),
                                       tmp_path / "m"), plugins)
    extend_bundle(bundle, TUTORIAL_TERMS)
    with pytest.raises(BertannoError, match="--from base"):
        apply_vocabulary(bundle, TUTORIAL_TERMS[:1])


def test_stats_report_a_swallowed_entity_boundary_and_char_level_resolves_it(ner_project, tmp_path, plugins):
    store = ner_project
    (tmp_path / "greedy.txt").write_text("高血压病\n新冠病毒\n", encoding="utf-8")
    add_lists(store, "clinic", [read_term_list(tmp_path / "greedy.txt")])

    stats = project_stats(store, "clinic", plugins=plugins)
    assert stats.spans == 9 and stats.conflicts == 3  # 高血压 inside the token 高血压病, three times
    example = stats.examples[0]
    assert example.text == "1号患者有高血压病史十年" and example.span == Span(5, 8, "disease")
    assert "高血压病" in example.tokens.split("|")
    assert stats.per_text_after < stats.per_text_before
    assert stats.term_occurrences == {"高血压病": 3, "新冠病毒": 3}

    result = CliRunner().invoke(cli, ["--db", str(store.engine.url), "vocab", "stats", "clinic"])
    assert result.exit_code == 0, result.output
    assert "3 cut by an added term" in result.output and "--char-level" in result.output

    result = CliRunner().invoke(cli, ["--db", str(store.engine.url), "vocab", "add", "clinic", "--char-level"])
    assert result.exit_code == 0, result.output
    assert project_stats(store, "clinic", plugins=plugins).conflicts == 0

    # The task itself: with term tokens the span cannot be tagged, with --char-level it can.
    outcome = train_project(store, "clinic", QUICK)
    bundle = load_version(outcome_dir(store, outcome.version), plugins)
    assert bundle.task.char_level and "高血压病" in bundle.added_terms
    example = Example("患者有高血压病史十年", payload=[Span(3, 6, "disease")])
    assert bundle.task.encode(bundle.tokenizer, example, 64, with_labels=True).unexpressible == []
    term_tokens = plugins.task("ner", labels=["disease"])
    [problem] = term_tokens.encode(bundle.tokenizer, example, 64, with_labels=True).unexpressible
    assert "crosses its boundary" in problem.reason


def outcome_dir(store, version_name):
    with store.transaction() as session:
        [version] = [v for v in list_versions(session, get_project(session, "clinic").id) if v.name == version_name]
        return version.directory


def test_check_shows_tokens_and_ids_before_and_after(ner_project, tmp_path):
    runner, db = CliRunner(), str(ner_project.engine.url)
    result = runner.invoke(cli, ["--db", db, "vocab", "add", "clinic", str(tmp_path / "tutorial.txt")])
    assert result.exit_code == 0 and "3 added" in result.output, result.output
    result = runner.invoke(cli, ["--db", db, "vocab", "check", "clinic", "新冠病毒是一种新型冠状病毒"])
    assert result.exit_code == 0, result.output
    assert "before: 13 tokens" in result.output and "after: 10 tokens" in result.output
    assert "3173" in result.output  # 新 in bert-base-chinese
    result = runner.invoke(cli, ["--db", db, "vocab", "add", "clinic", "missing-list"])
    assert result.exit_code != 0 and "neither a term list file nor a known list" in str(result.exception)


def test_a_refused_add_writes_nothing(ner_project, tmp_path):
    store, db = ner_project, str(ner_project.engine.url)
    with store.transaction() as session:
        create_project(session, "reviews", "sentiment", ["negative", "positive"], get_project(session, "clinic").model)
        create_project(session, "moved", "ner", ["disease"], str(tmp_path / "model-gone"))
    tutorial = str(tmp_path / "tutorial.txt")
    for args, says in ((["reviews", tutorial, "--char-level"], "--char-level is for token tasks"),
                       (["clinic", tutorial, "missing-list", "--char-level"], "neither a term list file"),
                       (["moved", tutorial, "--char-level"], "no model directory")):
        result = CliRunner().invoke(cli, ["--db", db, "vocab", "add", *args])
        assert result.exit_code != 0 and says in str(result.exception), result.output
        assert describe(store, args[0]).terms == [] and not describe(store, args[0]).char_level


def test_mining_proposes_entities_and_recurring_strings_for_review(ner_project, tmp_path, make_bundle):
    texts = ["新型冠状病毒肺炎", "冠状病毒感染", "高血压病人", "冠状病毒"] * 3
    assert "冠状病毒" in recurring_strings(texts, min_count=3) and "冠状病" not in recurring_strings(texts, 3)
    phrases = recurring_strings(["高血压的治疗方案", "糖尿病的治疗", "肺炎的治疗"] * 3, min_count=3)
    assert "的治疗" not in phrases and "治疗" in phrases  # the fragment goes and cannot hide the term
    tokenizer = make_bundle(task="ner", labels=["x"]).tokenizer
    found = mine(texts, tokenizer, [("高血压", "disease")], min_count=3)
    assert found[0].term == "高血压" and found[0].source == "entity:disease"
    assert "冠状病毒" in [c.term for c in found]

    runner, db = CliRunner(), str(ner_project.engine.url)
    corpus = tmp_path / "notes.txt"
    corpus.write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = tmp_path / "mined.txt"
    result = runner.invoke(cli, ["--db", db, "vocab", "mine", str(corpus), "--project", "clinic", "--min-count", "3",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    mined = read_term_list(out)
    assert {"高血压", "新冠病毒", "脑梗塞", "冠状病毒"} <= set(mined.texts)
    result = runner.invoke(cli, ["--db", db, "vocab", "add", "clinic", str(out)])
    assert result.exit_code == 0, result.output
    assert "冠状病毒" in describe(ner_project, "clinic").terms


def test_whole_term_masking_masks_a_term_as_one_unit():
    text = "患者高血压病史"
    offsets = [(0, 0), (0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (0, 0)]  # character tokens
    units = term_units(text, offsets, {"高血压", "高血压病"}, 4)
    assert sorted(units) == [[1], [2], [3, 4, 5, 6], [7]]  # 高血压病 whole (longest match), specials left out
    example = {"input_ids": list(range(100, 109)), "units": units, "term_positions": []}

    class Tok:
        mask_token_id = 103

        def __len__(self):
            return 200

    for seed in range(30):
        masked = mask_units(example, Tok(), 0.15, random.Random(seed))
        chosen = [i for i, label in enumerate(masked["labels"]) if label != -100]
        assert chosen in units  # 15% of 7 tokens: one unit, never part of the term


def test_training_from_an_adapted_model_that_does_not_exist_is_a_sentence(ner_project):
    with pytest.raises(BertannoError, match="no domain-adapted model to start from; make one with bertanno vocab "
                                            "adapt clinic, or train from the base model"):
        train_project(ner_project, "clinic", QUICK, start="adapted")


def test_adapt_trains_the_terms_then_training_starts_from_the_adapted_model_when_asked(ner_project, tmp_path,
                                                                                        plugins):
    runner, db = CliRunner(), str(ner_project.engine.url)
    assert runner.invoke(cli, ["--db", db, "vocab", "add", "clinic", str(tmp_path / "tutorial.txt")]).exit_code == 0
    corpus = tmp_path / "notes.txt"
    corpus.write_text("\n".join(["新冠病毒感染的患者", "高血压病人需要服药", "脑梗塞的康复训练", "患者无高血压"] * 10),
                      encoding="utf-8")
    result = runner.invoke(cli, ["--db", db, "vocab", "adapt", "clinic", str(corpus), "--epochs", "2",
                                 "--lr", "1e-3", "--batch-size", "8", "--models-dir", str(tmp_path / "models")])
    assert result.exit_code == 0, result.output
    assert "held-out masked-LM loss" in result.output and "on term tokens" in result.output
    summary = describe(ner_project, "clinic")
    assert summary.adapted_model and summary.adapted_model.endswith("adapted-1")
    [adapted] = (tmp_path / "models").glob("clinic-*/adapted-1")
    record = json.loads((adapted / "bertanno-adapted.json").read_text())
    assert record["terms"] == TUTORIAL_TERMS and record["loss_after"] < record["loss_before"]

    plain = train_project(ner_project, "clinic", QUICK)  # adapting never helped on public sets: only when asked
    outcome = train_project(ner_project, "clinic", QUICK, start="adapted")
    with ner_project.transaction() as session:
        started = {v.name: v.training_snapshot["started_from"]
                   for v in list_versions(session, get_project(session, "clinic").id)}
    assert started[outcome.version] == summary.adapted_model and started[plain.version] != summary.adapted_model
    bundle = load_version(outcome_dir(ner_project, outcome.version), plugins)
    assert bundle.added_terms == TUTORIAL_TERMS
    adapted_rows = load_version_rows(summary.adapted_model)
    assert adapted_rows.shape == bundle.model.get_input_embeddings().weight.shape

    remove_lists(ner_project, "clinic", None)
    assert describe(ner_project, "clinic").adapted_model is None  # it holds terms the project dropped


def load_version_rows(directory):
    from pathlib import Path

    from safetensors.torch import load_file

    weights = load_file(str(Path(directory) / "model.safetensors"))
    return next(v for k, v in weights.items() if k.endswith("word_embeddings.weight"))


def test_adapt_keeps_checkpoints_with_their_held_out_loss_and_resumes_after_an_interruption(ner_project, tmp_path):
    from bertanno.errors import BertannoError
    from bertanno.vocab.adapt import LOSSES_FILE, AdaptConfig, adapt

    model = describe(ner_project, "clinic").model
    texts = ["新冠病毒感染的患者", "高血压病人需要服药", "脑梗塞的康复训练", "患者无高血压"] * 12
    folder = tmp_path / "checkpoints"
    config = AdaptConfig(epochs=2, batch_size=8, learning_rate=1e-3, checkpoint_dir=folder, checkpoint_every=2)

    def stop_at_five(step, total):
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(BertannoError, match="checkpoint at step 4 is kept: run the same command again"):
        adapt(model, [], list(texts), tmp_path / "first", config, stop_at_five)
    assert not (tmp_path / "first").exists()
    logged = [json.loads(line)["step"] for line in (folder / LOSSES_FILE).read_text().splitlines()]
    assert logged == [2, 4]
    steps = []
    result = adapt(model, [], list(texts), tmp_path / "adapted", config, lambda step, total: steps.append(step))
    assert result.resumed_from == 4 and steps[0] == 5 and steps[-1] == result.steps
    assert [point["step"] for point in result.checkpoints][:2] == [2, 4] and result.checkpoints[-1]["loss"] > 0
    record = json.loads((tmp_path / "adapted" / "bertanno-adapted.json").read_text())
    assert record["checkpoints"] == result.checkpoints
    other = AdaptConfig(epochs=2, batch_size=8, learning_rate=5e-4, checkpoint_dir=folder, checkpoint_every=2)
    assert adapt(model, [], list(texts), tmp_path / "other", other).resumed_from == 0  # another run: afresh


def test_adapt_on_the_project_leaves_the_evaluation_split_out(ner_project):
    from bertanno.core.project import project_task, training_data
    from bertanno.store.items import evaluation_item_ids
    from bertanno.store.projects import get_project
    from bertanno.vocab.corpus import project_corpus

    with ner_project.transaction() as session:  # the labelled items take their split, as training does
        project = get_project(session, "clinic")
        training_data(session, project.id, project_task(project))
    everything, _ = project_corpus(ner_project, "clinic")
    without, _ = project_corpus(ner_project, "clinic", without_evaluation=True)
    with ner_project.transaction() as session:
        held = evaluation_item_ids(session, get_project(session, "clinic").id)
    assert held and len(without) == len(everything) - len(held)


def test_adapt_trains_a_model_stored_in_float16_in_float32(ner_project, tmp_path):
    import shutil
    from pathlib import Path

    import torch
    from safetensors.torch import load_file, save_file

    from bertanno.vocab.adapt import AdaptConfig, adapt

    source = Path(describe(ner_project, "clinic").model)
    half = tmp_path / "half"
    shutil.copytree(source, half)
    weights = load_file(str(half / "model.safetensors"))
    save_file({k: v.half() if v.is_floating_point() else v for k, v in weights.items()}, str(half / "model.safetensors"),
              metadata={"format": "pt"})
    config = json.loads((half / "config.json").read_text())
    (half / "config.json").write_text(json.dumps({**config, "dtype": "float16"}))  # as zh-mini ships
    result = adapt(str(half), [], ["新冠病毒感染的患者", "高血压病人需要服药"] * 8, tmp_path / "adapted",
                   AdaptConfig(epochs=1, batch_size=8, learning_rate=1e-3))
    saved = load_file(str(result.directory / "model.safetensors"))
    assert {v.dtype for v in saved.values() if v.is_floating_point()} == {torch.float32}
