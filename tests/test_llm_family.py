"""The ``llm`` family (issue 'a large language model as one more family'), against a real HTTP server on loopback
that answers by rules (``llm_server``): each task, offsets found by bertanno and never trusted, hallucinated and
foreign spans dropped and counted, malformed answers retried then left without a pre-annotation, 429 retried,
5xx and a dead endpoint said in a sentence, the cache, the key never stored nor shown, remote http refused, a
server without structured output, and a scripted session served from the first item."""

import json
import os

import pytest
from click.testing import CliRunner
from llm_server import Rules, serve

from bertanno.cli import cli
from bertanno.core.engine import score_model
from bertanno.errors import BertannoError
from bertanno.plugins.builtin.llm_family import CACHE_FILE, ChatClient, LlmModel, LlmUnavailable, check_url, llm_options
from bertanno.plugins.task import Example, Relation, Span, SpanGraph


@pytest.fixture
def endpoint():
    rules = Rules()
    server, url = serve(rules)
    yield rules, url
    server.shutdown()


def model_for(task, url, tmp_path, **client):
    """The family's model as ``load`` builds it, with a client that does not sleep between retries."""
    return LlmModel(task, ChatClient(url, "test-model", cache=tmp_path / CACHE_FILE, sleep=lambda s: None, **client))


def test_labels_for_texts_and_pairs_with_the_probability_when_the_server_gives_it(plugins, endpoint, tmp_path):
    rules, url = endpoint
    sentiment = model_for(plugins.task("sentiment"), url, tmp_path)
    predictions, stats = sentiment.predict([Example("菜很好吃"), Example("太难吃了"), Example("很好，确定")])
    assert [p.payload for p in predictions] == ["positive", "negative", "positive"]
    assert predictions[0].confidence == 0.0 and stats.tokens == 3 * 38
    assert predictions[2].confidence == pytest.approx(2.718281828 ** -0.2)  # exp of the mean log-probability
    sent = rules.requests[0]["body"]
    assert sent["temperature"] == 0 and sent["response_format"]["json_schema"]["schema"]["properties"]["label"][
        "enum"] == ["negative", "positive"]
    pairs = model_for(plugins.task("pair"), url, tmp_path / "p")
    (tmp_path / "p").mkdir()
    [match, other], _ = pairs.predict([Example("花呗怎么还", "借呗怎么还"), Example("花呗怎么还", "今天下雨")])
    assert (match.payload, other.payload) == ("match", "no_match")


def test_entities_are_found_in_the_text_by_bertanno_and_what_is_not_there_is_dropped_and_counted(plugins, endpoint,
                                                                                                 tmp_path):
    _, url = endpoint
    task = plugins.task("ner", labels=["drug", "symptom"])
    model = model_for(task, url, tmp_path)
    text = "服用阿司匹林后头痛"
    [prediction], stats = model.predict([Example(text)])
    assert prediction.payload == [Span(2, 6, "drug"), Span(7, 9, "symptom")]
    assert stats.unaligned == 2  # 布洛芬 is not in the text; 头痛 as organ is no type of the project
    twice = "两次头痛：早上头痛，晚上头痛"
    [prediction], _ = model.predict([Example(twice)])
    assert prediction.payload == [Span(2, 4, "symptom"), Span(7, 9, "symptom")]  # named twice: the first two


def test_relations_by_entity_index_as_the_schema_allows(plugins, endpoint, tmp_path):
    _, url = endpoint
    task = plugins.task("relations", labels=["Nh", "NDR"], relations="sell_drugs_to:Nh>Nh,traffic_in:Nh>NDR")
    text = "薛某某向赵某某贩卖甲基苯丙胺"
    [prediction], stats = model_for(task, url, tmp_path).predict([Example(text)])
    xue, zhao, drug = Span(0, 3, "Nh"), Span(4, 7, "Nh"), Span(9, 14, "NDR")
    assert prediction.payload == SpanGraph((xue, zhao, drug), (Relation(xue, zhao, "sell_drugs_to"),
                                                               Relation(xue, drug, "traffic_in")))
    assert stats.unaligned == 2  # NDR -> Nh, which the schema forbids, and a relation to entity 7


def test_a_malformed_answer_is_asked_again_once_then_the_item_gets_no_pre_annotation(plugins, endpoint, tmp_path):
    rules, url = endpoint
    task = plugins.task("sentiment")
    predictions, stats = model_for(task, url, tmp_path).predict([Example("格式坏但是好"), Example("总是坏")])
    assert predictions[0].payload == "positive" and rules.seen["格式坏但是好"] == 2
    assert predictions[1].payload is None and rules.seen["总是坏"] == 2 and stats.unanswered == 1
    scores = score_model(model_for(task, url, tmp_path), [Example("总是坏", payload="negative")])
    assert scores["accuracy"] == 0.0  # no answer is scored wrong, never skipped


def test_429_is_retried_and_a_failing_or_dead_endpoint_is_a_sentence_without_the_key(plugins, endpoint, tmp_path,
                                                                                      monkeypatch):
    rules, url = endpoint
    monkeypatch.setenv("BERTANNO_LLM_KEY", "sk-secret-123")
    task = plugins.task("sentiment")
    [busy], _ = model_for(task, url, tmp_path).predict([Example("忙但是好")])
    assert busy.payload == "positive" and rules.seen["忙但是好"] == 2
    assert rules.requests[0]["authorization"] == "Bearer sk-secret-123"
    with pytest.raises(LlmUnavailable, match="did not answer after 4 tries") as failing:
        model_for(task, url, tmp_path).predict([Example("挂了")])
    assert "sk-secret" not in str(failing.value) and url in str(failing.value)
    dead = "http://127.0.0.1:9/v1"  # the discard port: nothing listens
    with pytest.raises(LlmUnavailable, match="check that the server runs"):
        model_for(task, dead, tmp_path).predict([Example("好")])
    with pytest.raises(LlmUnavailable, match="timed out"):
        model_for(task, url, tmp_path, timeout=0.3).predict([Example("慢")])


def test_answers_are_cached_for_every_version_of_the_project_that_asks_the_model(plugins, endpoint, tmp_path):
    from bertanno.plugins.builtin.llm_family import LlmFamily, cache_file

    rules, url = endpoint
    task = plugins.task("sentiment")
    model_for(task, url, tmp_path).predict([Example("好吃"), Example("好吃")])
    assert rules.seen["好吃"] == 1
    model_for(task, url, tmp_path).predict([Example("好吃")])  # a new process: from the file
    assert rules.seen["好吃"] == 1
    assert "sk-" not in (tmp_path / CACHE_FILE).read_text(encoding="utf-8")
    record = {"options": llm_options(task, "test-model", url)}
    first = LlmFamily().load(tmp_path / "project" / "m001", record, task)
    first.predict([Example("很好")])
    later = LlmFamily().load(tmp_path / "project" / "m002", record, task)  # the same prompt: from the cache
    later.predict([Example("很好")])
    assert rules.seen["很好"] == 1
    assert cache_file(tmp_path / "project" / "m002", url, "test-model").parent == tmp_path / "project" / "llm-cache"
    other = LlmFamily().load(tmp_path / "project" / "m003", {"options": llm_options(task, "other-model", url)}, task)
    other.predict([Example("很好")])
    assert rules.seen["很好"] == 2  # another model is asked


def test_a_server_without_structured_output_is_asked_without_it(plugins, endpoint, tmp_path):
    rules, url = endpoint
    rules.structured = False
    model = model_for(plugins.task("sentiment"), url, tmp_path)
    [first, second], _ = model.predict([Example("好"), Example("差")])
    assert (first.payload, second.payload) == ("positive", "negative")
    assert "response_format" not in rules.requests[-1]["body"]


def test_the_url_and_the_key_variable_are_checked(plugins):
    task = plugins.task("sentiment")
    assert check_url("http://localhost:11434/v1/") == "http://localhost:11434/v1"
    assert check_url("https://llm.example.org/v1") == "https://llm.example.org/v1"
    with pytest.raises(BertannoError, match="unencrypted"):
        check_url("http://10.0.0.5:8000/v1")
    assert check_url("http://10.0.0.5:8000/v1", allow_remote=True)
    with pytest.raises(BertannoError, match="http:// or https://"):
        check_url("ftp://x/v1")
    with pytest.raises(BertannoError, match="--llm-model"):
        llm_options(task, None)
    with pytest.raises(BertannoError, match="names an environment variable"):
        llm_options(task, "m", key_env="sk-abc-123")


def test_init_serves_the_llm_from_the_first_item_and_never_stores_the_key(endpoint, tmp_path, monkeypatch):
    rules, url = endpoint
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("MY_KEY", "sk-never-stored")
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    created = runner.invoke(cli, ["--db", db, "init", "reviews", "--task", "sentiment", "--zero-shot", "llm",
                                  "--llm-model", "qwen-test", "--llm-url", url, "--llm-key-env", "MY_KEY"])
    assert created.exit_code == 0 and "m001" in created.output, created.output
    refused = runner.invoke(cli, ["--db", db, "init", "far", "--task", "sentiment", "--zero-shot", "llm",
                                  "--llm-model", "m", "--llm-url", "http://192.0.2.7:8000/v1"])
    assert refused.exit_code != 0 and "unencrypted" in str(refused.exception) + refused.output
    stray = runner.invoke(cli, ["--db", db, "init", "x", "--task", "sentiment", "--llm-model", "m"])
    assert stray.exit_code == 2 and "configure --zero-shot llm" in stray.output
    (tmp_path / "items.txt").write_text("菜很好吃\n总是坏\n", encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "import", "reviews", str(tmp_path / "items.txt")]).exit_code == 0
    (tmp_path / "keys.txt").write_text("a\nc positive\n", encoding="utf-8")
    done = runner.invoke(cli, ["--db", db, "annotate", "reviews", "--annotator", "ann", "--decisions",
                               str(tmp_path / "keys.txt")])
    assert done.exit_code == 0, done.output
    figures = json.loads(runner.invoke(cli, ["--db", db, "stats", "reviews", "--json"]).output)
    assert figures["overall"]["accepted"] == 1 and figures["overall"]["labelled"] == 1  # 总是坏: nothing shown
    assert rules.requests and all(r["authorization"] == "Bearer sk-never-stored" for r in rules.requests)
    stored = [p.read_text(encoding="utf-8") for p in (tmp_path / "models").rglob("*.json")]
    assert stored and not any("sk-never-stored" in text for text in stored)
    assert "sk-never-stored" not in (tmp_path / "db.sqlite").read_bytes().decode("latin-1")
    assert os.environ["MY_KEY"] == "sk-never-stored"


def test_a_session_goes_on_without_pre_annotations_while_the_endpoint_is_down(plugins, tmp_path):
    from bertanno.app.session import AnnotationSession
    from bertanno.core.import_export import import_file
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    down = model_for(plugins.task("sentiment"), "http://127.0.0.1:9/v1", tmp_path)  # nothing listens there

    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.transaction() as db:
        create_project(db, "p", "sentiment", ["negative", "positive"], "bert-base-chinese")
    (tmp_path / "items.txt").write_text("好\n差\n", encoding="utf-8")
    import_file(store, "p", tmp_path / "items.txt")
    session = AnnotationSession(store, "p", "ann", predictor=down, model_version="m001", predict_ahead=False)
    current = session.next()
    assert current is not None and current.prediction is None
    note, _ = session.item_note()
    assert note.startswith("no pre-annotation: the LLM endpoint http://127.0.0.1:9/v1/chat/completions did not")
    session.decide("correct", "positive")
    assert session.next() is not None  # the next item is served too
    session.close()


def test_predict_project_says_how_many_spans_were_dropped(endpoint, tmp_path, monkeypatch):
    _, url = endpoint
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    created = runner.invoke(cli, ["--db", db, "init", "clinic", "--task", "ner", "--labels", "drug,symptom",
                                  "--zero-shot", "llm", "--llm-model", "m", "--llm-url", url])
    assert created.exit_code == 0, created.output
    (tmp_path / "items.txt").write_text("服用阿司匹林后头痛\n总是坏\n", encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "import", "clinic", str(tmp_path / "items.txt")]).exit_code == 0
    done = runner.invoke(cli, ["--db", db, "predict-project", "clinic"])
    assert done.exit_code == 0, done.output
    assert "2 proposed span(s) or relation(s) were not in the text" in done.output
    assert "1 item(s) got no usable answer" in done.output


def test_demonstrations_are_the_most_similar_decisions_within_the_token_budget_never_the_item_itself(plugins):
    from bertanno.plugins.builtin.llm_family import Demonstrations, answer_json, estimated_tokens, messages

    ner = plugins.task("ner", labels=["drug", "symptom"])
    pool = [Example("服用阿司匹林后头痛", None, [Span(2, 6, "drug"), Span(7, 9, "symptom")]),
            Example("今天天气很好", None, []),
            Example("阿司匹林", None, [Span(0, 4, "drug")]),
            Example("头痛头痛", None, [Span(0, 2, "symptom"), Span(2, 4, "symptom")])]
    assert answer_json(ner, pool[3]) == {"entities": [{"text": "头痛", "type": "symptom"}] * 2}
    demonstrations = Demonstrations(ner, pool, shots=2, budget=1000)
    shown = demonstrations.for_item(Example("服用阿司匹林"))
    assert [s.text for s in shown] == ["阿司匹林", "服用阿司匹林后头痛"]  # the most similar sits next to the question
    assert "服用阿司匹林后头痛" not in [s.text for s in demonstrations.for_item(Example("服用阿司匹林后头痛"))]
    tight = Demonstrations(ner, pool, shots=1, budget=estimated_tokens("阿司匹林") + 30)
    assert [s.text for s in tight.for_item(Example("服用阿司匹林后"))] == ["阿司匹林"]  # the nearest is over budget
    assert Demonstrations(ner, [], shots=4).for_item(Example("x")) == []
    chat = messages(ner, Example("服用阿司匹林"), shown)
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert json.loads(chat[2]["content"]) == {"entities": [{"text": "阿司匹林", "type": "drug"}]}
    relations = plugins.task("relations", labels=["Nh", "NDR"], relations="traffic_in:Nh>NDR")
    head, tail = Span(0, 3, "Nh"), Span(5, 10, "NDR")
    graph = Example("薛某某贩卖甲基苯丙胺", None, SpanGraph((tail, head), (Relation(head, tail, "traffic_in"),)))
    assert answer_json(relations, graph)["relations"] == [{"head": 0, "tail": 1, "type": "traffic_in"}]


def test_train_family_llm_makes_a_few_shot_version_from_the_teams_decisions_and_the_gate_promotes_it(endpoint,
                                                                                                  tmp_path,
                                                                                                  monkeypatch):
    rules, url = endpoint
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    plain = runner.invoke(cli, ["--db", db, "init", "plain", "--task", "sentiment"])
    assert plain.exit_code == 0
    rows = [{"text": f"第{n}家店照例{'菜品鲜美可口' if n % 2 else '菜品难以下咽'}",
             "label": "positive" if n % 2 else "negative"} for n in range(40)]
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                         encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "import", "plain", str(tmp_path / "gold.jsonl")]).exit_code == 0
    unconfigured = runner.invoke(cli, ["--db", db, "train", "plain", "--family", "llm"])
    assert unconfigured.exit_code != 0 and "--zero-shot llm --llm-model" in str(unconfigured.exception)
    assert runner.invoke(cli, ["--db", db, "init", "r", "--task", "sentiment", "--zero-shot", "llm", "--llm-model",
                               "qwen-test", "--llm-url", url]).exit_code == 0
    assert runner.invoke(cli, ["--db", db, "import", "r", str(tmp_path / "gold.jsonl")]).exit_code == 0
    held_out = [{"text": f"又一家店照例{'菜品鲜美可口' if n % 2 else '菜品难以下咽'}{n}",
                 "label": "positive" if n % 2 else "negative"} for n in range(60)]
    (tmp_path / "eval.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in held_out),
                                         encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "import", "r", str(tmp_path / "eval.jsonl"), "--split", "eval"]
                         ).exit_code == 0
    rules.requests.clear()
    trained = runner.invoke(cli, ["--db", db, "train", "r", "--family", "llm"])
    assert trained.exit_code == 0, trained.output
    assert "m002 is the champion" in trained.output  # m001 guesses, m002 answers as the nearest decision did
    few_shot = [r["body"]["messages"] for r in rules.requests if len(r["body"]["messages"]) > 2]
    assert few_shot and all(len(chat) == 2 + 2 * 4 for chat in few_shot)  # four demonstrations each
    for chat in few_shot:  # never the item itself, always within the project's decisions
        assert chat[-1]["content"] not in [m["content"] for m in chat[1:-1]]
    record = json.loads(next((tmp_path / "models").rglob("m002/bertanno.json")).read_text(encoding="utf-8"))
    assert record["family"] == "llm" and record["demonstrations"] > 0 and record["options"]["model"] == "qwen-test"
    evaluated = json.loads(runner.invoke(cli, ["--db", db, "evaluate", "r", "--json"]).output)
    assert evaluated["accuracy"] == 1.0, evaluated  # the champion, m002


def test_stats_and_explain_show_the_tokens_the_dropped_entities_and_the_reason(endpoint, tmp_path, monkeypatch):
    _, url = endpoint
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "clinic", "--task", "ner", "--labels", "drug,symptom",
                               "--zero-shot", "llm", "--llm-model", "m", "--llm-url", url]).exit_code == 0
    (tmp_path / "items.txt").write_text("服用阿司匹林后头痛\n总是坏\n", encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "import", "clinic", str(tmp_path / "items.txt")]).exit_code == 0
    assert runner.invoke(cli, ["--db", db, "predict-project", "clinic"]).exit_code == 0
    figures = json.loads(runner.invoke(cli, ["--db", db, "stats", "clinic", "--json"]).output)
    spent = figures["llm_versions"]["m001"]
    assert (spent["predictions"], spent["named"], spent["dropped"], spent["unanswered"]) == (2, 4, 2, 1)
    assert spent["hallucinated_share"] == 0.5 and spent["tokens_in"] == 3 * 30 and spent["tokens_out"] == 3 * 8
    shown = runner.invoke(cli, ["--db", db, "explain", "clinic", "1"])
    assert shown.exit_code == 0, shown.output
    assert "阿司匹林:drug, 头痛:symptom" in shown.output and "30 tokens in, 8 out" in shown.output
    assert "2 of 4 named not in the text" in shown.output
    assert "no usable answer" in runner.invoke(cli, ["--db", db, "explain", "clinic", "2"]).output
    missing = runner.invoke(cli, ["--db", db, "explain", "clinic", "3"])
    assert missing.exit_code != 0 and "numbered 1 to 2" in str(missing.exception)

    assert runner.invoke(cli, ["--db", db, "init", "reviews", "--task", "sentiment", "--zero-shot", "llm",
                               "--llm-model", "m", "--llm-url", url]).exit_code == 0
    (tmp_path / "reviews.txt").write_text("菜很好吃\n", encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "import", "reviews", str(tmp_path / "reviews.txt")]).exit_code == 0
    (tmp_path / "keys.txt").write_text("a\n", encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "annotate", "reviews", "--annotator", "ann", "--decisions",
                               str(tmp_path / "keys.txt")]).exit_code == 0
    shown = runner.invoke(cli, ["--db", db, "explain", "reviews", "1"]).output
    assert "positive" in shown and "why: 因为" in shown and "decided by ann (human, accept)" in shown
    stats = runner.invoke(cli, ["--db", db, "stats", "reviews"], env={"COLUMNS": "120"}).output
    # one prediction: the session's predicting ahead and its fetch of the first item no longer both ask
    assert "m001 (LLM): 1 predictions, 30 tokens in and 8 out spent (38 an item; 38 a decided item)" in stats
    assert "1 with a reason" in stats


def test_the_annotation_screen_shows_the_models_reason_under_its_label(plugins, endpoint, tmp_path):
    from bertanno.app.session import AnnotationSession
    from bertanno.core.import_export import import_file
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    _, url = endpoint
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.transaction() as db:
        create_project(db, "p", "sentiment", ["negative", "positive"], "bert-base-chinese")
    (tmp_path / "items.txt").write_text("菜很好吃\n", encoding="utf-8")
    import_file(store, "p", tmp_path / "items.txt")
    model = model_for(plugins.task("sentiment"), url, tmp_path)
    session = AnnotationSession(store, "p", "ann", predictor=model, model_version="m001", predict_ahead=False)
    current = session.next()
    assert current.prediction.details["reason"] == "因为"
    from rich.console import Console

    from bertanno.app.views.labels import render_labels

    console = Console(width=80, record=True)
    console.print(render_labels(session.task, current.example, current.prediction))
    shown = console.export_text()
    assert "→ positive\n" in shown and "why：因为" in shown  # no "(0%)" from a model without a confidence
    session.close()


def test_without_log_probabilities_k_samples_give_the_confidence_as_their_agreement(plugins, endpoint, tmp_path):
    rules, url = endpoint
    sentiment = plugins.task("sentiment")
    sampled = LlmModel(sentiment, ChatClient(url, "test-model", cache=tmp_path / CACHE_FILE, sleep=lambda s: None),
                       samples=5)
    [unsure, sure], stats = sampled.predict([Example("这家店我拿不准"), Example("很好，确定")])
    # seeds 1-4 answer negative, positive, negative, positive: the first answer and two of four agree
    assert unsure.payload == "positive" and unsure.confidence == pytest.approx(3 / 5)
    assert (unsure.details["samples"], unsure.details["agreeing"]) == (5, 3)
    asked = [r["body"] for r in rules.requests if "拿不准" in r["body"]["messages"][-1]["content"]]
    assert [b["temperature"] for b in asked] == [0, 0.7, 0.7, 0.7, 0.7]
    assert sorted(b.get("seed", 0) for b in asked) == [0, 1, 2, 3, 4]
    assert unsure.details["tokens_in"] == 5 * 30 and stats.tokens == 5 * 38 + 38
    assert "samples" not in sure.details  # log-probabilities: no samples asked for
    again, _ = sampled.predict([Example("这家店我拿不准")])  # every sample from the cache
    assert again[0].confidence == pytest.approx(3 / 5) and again[0].details["cached"]
    assert len([r for r in rules.requests if "拿不准" in r["body"]["messages"][-1]["content"]]) == 5
