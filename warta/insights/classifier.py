"""The two-layer offline classifier: topic, sentiment, urgency and place of a citizen's SMS.

Theory of operation
-------------------
Layer 1 is the **lexicon**: readable rows (``LexiconEntry``; seeded from ``data/lexicon.tsv``)
of words and phrases pointing at a topic, at danger, or at a sentiment, each with a weight. It
works alone (the baseline in docs/benchmarks.md), explains itself (the matched words are the
"why"), and an analyst's edit takes effect within a minute without retraining.

Layer 2 is a **statistical model** (scikit-learn): TF-IDF of normalised words (1–2-grams) and
of character 4-grams (robust to the typos and affixes normalisation leaves), and three
logistic regressions — topic, sentiment, urgent. It is trained on the team's labelled set plus
the analysts' corrections (``train``), versioned, and pickled into ``ModelVersion`` (our own
objects only; the blob never comes from outside the database).

The layers vote: topic score = model probability + ``LEXICON_WEIGHT`` × lexicon score, so a
strong lexicon hit corrects the model on new vocabulary and the model covers what no lexicon
line names. Topics an analyst retired are never predicted; merged topics are predicted as the
topic they were merged into; a topic added after the model was trained is predicted through
the lexicon until the next training. Urgent = lexicon danger score ≥ 1 or model probability ≥
``URGENT_THRESHOLD`` (set low on purpose: a missed emergency costs more than a false alarm).

Messages with nothing to read — empty, emoji or digits only, binary, or text in which fewer than
a quarter of the words are known Indonesian and no lexicon line matches (English, noise) — are
"lainnya", netral, not urgent, no place, without asking the model.

No Django here: ``engine.py`` builds a ``Classifier`` from the database.
"""

from __future__ import annotations

import hashlib
import math
import pickle
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .places import PlaceMatcher
from .textnorm import Normaliser, vocabulary

DATA_DIR = Path(__file__).resolve().parent / "data"
LEXICON_FILE = DATA_DIR / "lexicon.tsv"
LABELLED_DIR = DATA_DIR / "labelled"
FALLBACK = "lainnya"
LEXICON_WEIGHT = 0.15
URGENT_THRESHOLD = 0.35
NEGATORS = {"tidak", "belum", "kurang", "bukan", "jangan"}
SUFFIXES = ("nya", "lah", "kah", "kan", "an", "i")
PREFIXES = ("meng", "meny", "mem", "men", "me", "peng", "pem", "pen", "pe", "ber", "ter", "di", "ke", "se")


@dataclass(slots=True)
class Result:
    text: str
    topic: str = FALLBACK
    sentiment: str = "netral"
    urgent: bool = False
    place: dict[str, str] | None = None
    why: list[str] = field(default_factory=list)
    confidence: float = 0.0
    region_id: int | None = None
    version: str = ""

    def public(self) -> dict[str, Any]:
        """The CLI/API shape: text, topic, sentiment, urgent, place, why."""
        return {"text": self.text, "topic": self.topic, "sentiment": self.sentiment, "urgent": self.urgent,
                "place": self.place, "why": self.why}


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    topic: str
    sentiment: str = "netral"
    urgent: bool = False
    place: str = ""  # Kemendagri code of the place the text names, "" for none


# ----------------------------------------------------------------------------- lexicon


LexRow = tuple[str, str, str, float, str]  # kind, topic code, term, weight, replacement


def read_lexicon_file(path: Path = LEXICON_FILE) -> list[LexRow]:
    rows: list[LexRow] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, topic, term, weight = (line.split("\t") + ["", "", "", "1"])[:4]
        rows.append((kind, topic, term, float(weight or 1), ""))
    return rows


@dataclass(slots=True)
class Hits:
    topics: dict[str, float]
    topic_words: dict[str, list[str]]
    urgent: float
    urgent_words: list[str]
    positive: float
    negative: float


class Lexicon:
    def __init__(self, rows: Iterable[LexRow]) -> None:
        self.terms: dict[tuple[str, ...], list[tuple[str, str, float]]] = defaultdict(list)
        self.slang: dict[str, str] = {}
        self.max_len = 1
        for kind, topic, term, weight, replacement in rows:
            if kind == "slang":
                if term and replacement:
                    self.slang[term.lower()] = replacement.lower()
                continue
            key = tuple(term.lower().split())
            if not key:
                continue
            self.terms[key].append((kind, topic, weight))
            self.max_len = max(self.max_len, len(key))
        self.unigrams = {k[0] for k in self.terms if len(k) == 1}
        self._stems: dict[str, str | None] = {}

    def words(self) -> set[str]:
        return {w for key in self.terms for w in key}

    def _stem(self, word: str) -> str | None:
        hit = self._stems.get(word, "")
        if hit != "":
            return hit
        stem = self._stem_uncached(word)
        if len(self._stems) < 200_000:
            self._stems[word] = stem
        return stem

    def _stem_uncached(self, word: str) -> str | None:
        if word in self.unigrams:
            return word
        for s in SUFFIXES:
            if word.endswith(s) and len(word) - len(s) >= 3 and word[:-len(s)] in self.unigrams:
                return word[:-len(s)]
        for p in PREFIXES:
            if word.startswith(p) and len(word) - len(p) >= 3:
                rest = word[len(p):]
                if rest in self.unigrams:
                    return rest
                for s in SUFFIXES:
                    if rest.endswith(s) and len(rest) - len(s) >= 3 and rest[:-len(s)] in self.unigrams:
                        return rest[:-len(s)]
        return None

    def scan(self, toks: Sequence[str], allowed: set[str] | None = None) -> Hits:
        topics: dict[str, float] = defaultdict(float)
        topic_words: dict[str, list[str]] = defaultdict(list)
        urgent, positive, negative = 0.0, 0.0, 0.0
        urgent_words: list[str] = []
        # Two layers scanned independently, longest match first in each: a sentiment phrase
        # ("belum diangkut") must not hide the topic word inside it ("diangkut"), and the words
        # of one match are not counted again by a shorter match in the same layer.
        n = len(toks)
        topic_until = other_until = 0
        for i in range(n):
            topic_done, other_done = i < topic_until, i < other_until
            for size in range(min(self.max_len, n - i), 0, -1):
                if topic_done and other_done:
                    break
                key = tuple(toks[i:i + size])
                if size == 1:
                    stem = self._stem(key[0])
                    if stem is None:
                        continue
                    key = (stem,)
                entries = self.terms.get(key)
                if not entries:
                    continue
                phrase = " ".join(key)
                kinds = {kind for kind, _t, _w in entries}
                if not topic_done and "topic" in kinds:
                    topic_done, topic_until = True, i + size
                    for kind, topic, weight in entries:
                        if kind == "topic" and (allowed is None or topic in allowed):
                            topics[topic] += weight
                            if phrase not in topic_words[topic]:
                                topic_words[topic].append(phrase)
                if not other_done and kinds - {"topic"}:
                    other_done, other_until = True, i + size
                    negated = i > 0 and toks[i - 1] in NEGATORS
                    for kind, _topic, weight in entries:
                        if kind == "urgent":
                            urgent += weight
                            if phrase not in urgent_words:
                                urgent_words.append(phrase)
                        elif kind == "positive":
                            if negated:
                                negative += weight
                            else:
                                positive += weight
                        elif kind == "negative":
                            negative += weight
        return Hits(dict(topics), dict(topic_words), urgent, urgent_words, positive, negative)


# ----------------------------------------------------------------------------- statistical model


class Model:
    """The trained second layer: one vectoriser, three logistic regressions."""

    def __init__(self, version: str, vectoriser: Any, topic: Any, sentiment: Any, urgent: Any,
                 vocab: dict[str, int], trained_on: int) -> None:
        self.version = version
        self.vectoriser = vectoriser
        self.topic = topic
        self.sentiment = sentiment
        self.urgent = urgent
        self.vocab = vocab
        self.trained_on = trained_on
        self.word_features: list[str] = list(vectoriser.transformer_list[0][1].get_feature_names_out())

    def dumps(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(blob: bytes) -> Model:
        model = pickle.loads(blob)  # noqa: S301 - our own blob from our own database
        if not isinstance(model, Model):
            raise TypeError("not a warta.insights model")
        return model


def _vectoriser() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2), min_df=2,
                                  sublinear_tf=True, lowercase=False)),
        # Character 4-grams only: 3–4-grams scored 0.942 macro-F1 on the fresh set against 0.928,
        # but took 43 µs a message against 23 µs, and ingest's throughput is the harder limit.
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 4), min_df=3, sublinear_tf=True,
                                  lowercase=False, max_features=20_000)),
    ])


def train(examples: Sequence[Example], *, version: str, lexicon_rows: Iterable[LexRow] = (),
          place_names: Iterable[str] = ()) -> Model:
    """Fit the second layer on ``examples`` (labelled set + corrections)."""
    from sklearn.linear_model import LogisticRegression

    lexicon_rows = list(lexicon_rows)
    lex = Lexicon(lexicon_rows)
    raw_vocab = vocabulary(e.text for e in examples)
    vocab = {w: n for w, n in raw_vocab.items() if n >= 3}
    for w in lex.words() | {w for name in place_names for w in name.lower().split()}:
        vocab[w] = vocab.get(w, 0) + 2
    norm = Normaliser(vocab, lex.slang)
    docs = [" ".join(norm(e.text)) for e in examples]
    vec = _vectoriser()
    x = vec.fit_transform(docs)
    topic = LogisticRegression(C=8.0, max_iter=2000).fit(x, [e.topic for e in examples])
    sentiment = LogisticRegression(C=4.0, max_iter=2000).fit(x, [e.sentiment for e in examples])
    urgent = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced").fit(x, [int(e.urgent) for e in examples])
    return Model(version, vec, topic, sentiment, urgent, vocab, len(examples))


# ----------------------------------------------------------------------------- the classifier


class Classifier:
    """Lexicon + optional model + place matcher. Build once per process (``engine.get()``)."""

    def __init__(self, lexicon_rows: Iterable[LexRow], regions: Iterable[tuple[int, str, str, str]],
                 model: Model | None = None, *, topics: Iterable[tuple[str, bool, str | None]] | None = None) -> None:
        """``topics``: (code, retired, merged-into code) of the topic table; None: the lexicon's."""
        rows = list(lexicon_rows)
        self.lexicon = Lexicon(rows)
        self.model = model
        regions = list(regions)
        self.places = PlaceMatcher(regions)
        vocab: dict[str, int] = dict(model.vocab) if model is not None else {}
        for w in self.lexicon.words():
            vocab[w] = vocab.get(w, 0) + 2
        for _pk, _code, name, _level in regions:
            for w in name.lower().split():
                vocab.setdefault(w, 1)
        self.normalise = Normaliser(vocab, self.lexicon.slang)
        self.known = set(vocab)
        if topics is None:
            topics = [(t, False, None) for t in {t for k, t, *_ in rows if k == "topic"} | {FALLBACK}]
        self.merged = {code: into for code, _r, into in topics if into}
        self.allowed = {code for code, retired, _into in topics if not retired} | {FALLBACK}
        lex_hash = hashlib.sha1(repr(sorted(rows)).encode(), usedforsecurity=False).hexdigest()[:8]
        self.version = (model.version if model is not None else "lex") + "+" + lex_hash

    def _target(self, code: str) -> str:
        seen = 0
        while code in self.merged and seen < 10:
            code, seen = self.merged[code], seen + 1
        return code if code in self.allowed else FALLBACK

    def classify(self, text: str, *, binary: bool = False) -> Result:
        return self.classify_many([text], binary=[binary])[0]

    def classify_many(self, texts: Sequence[str], *, binary: Sequence[bool] | None = None) -> list[Result]:
        results: list[Result] = []
        pending: list[int] = []
        docs: list[str] = []
        hits: list[Hits] = []
        for i, text in enumerate(texts):
            r = Result(text=text, version=self.version)
            results.append(r)
            if (binary is not None and binary[i]) or not any(ch.isalpha() for ch in text[:2000]):
                hits.append(Hits({}, {}, 0.0, [], 0.0, 0.0))
                continue
            toks = self.normalise(text[:1000])
            h = self.lexicon.scan(toks, None)
            hits.append(h)
            words = [t for t in toks if not t.isdigit()]
            coverage = sum(1 for t in words if t in self.known) / len(words) if words else 0.0
            if not h.topics and not h.urgent and coverage < 0.25:
                continue  # English, noise: nothing to read
            pending.append(i)
            docs.append(" ".join(toks))
        if self.model is not None and docs:
            self._with_model(results, hits, pending, docs)
        else:
            for i in pending:
                self._lexicon_only(results[i], hits[i])
        for i in pending:
            place = self.places.match(texts[i])
            if place is not None:
                r = results[i]
                r.place = {"code": place.region.code, "name": place.region.name, "level": place.region.level}
                r.region_id = place.region.id
        return results

    def _lexicon_only(self, r: Result, h: Hits) -> None:
        scores: dict[str, float] = defaultdict(float)
        for code, s in h.topics.items():
            scores[self._target(code)] += s
        scores.pop(FALLBACK, None)
        if scores:
            best = max(sorted(scores), key=lambda c: scores[c])
            r.topic = best
            r.confidence = round(scores[best] / sum(scores.values()), 3)
            r.why = [w for code in h.topic_words if self._target(code) == best for w in h.topic_words[code]]
        r.urgent = h.urgent >= 1.0
        if r.urgent:
            r.why = r.why + [w for w in h.urgent_words if w not in r.why]
        if h.positive > h.negative:
            r.sentiment = "positif"
        elif h.negative > h.positive:
            r.sentiment = "negatif"

    def _with_model(self, results: list[Result], hits: list[Hits], pending: list[int], docs: list[str]) -> None:
        import numpy as np

        m = self.model
        assert m is not None
        x = m.vectoriser.transform(docs)
        p_topic = m.topic.predict_proba(x)
        p_sent = m.sentiment.predict_proba(x)
        p_urgent = m.urgent.predict_proba(x)[:, list(m.urgent.classes_).index(1)]
        topic_classes = list(m.topic.classes_)
        sent_classes = list(m.sentiment.classes_)  # sorted, as sklearn keeps classes
        # Topic scores in bulk: model probabilities folded onto the topics they count as today
        # (merges, retirements) by one matrix product, then the lexicon's votes added.
        target = {c: self._target(c) for c in topic_classes}
        for i in pending:
            for c in hits[i].topics:
                if c not in target:
                    target[c] = self._target(c)
        names = sorted(set(target.values()))  # sorted: ties go to the first name, as before
        col = {t: k for k, t in enumerate(names)}
        fold = np.zeros((len(topic_classes), len(names)))
        for j, c in enumerate(topic_classes):
            fold[j, col[target[c]]] = 1.0
        scores = p_topic @ fold
        sent = p_sent.copy()
        pos = sent_classes.index("positif") if "positif" in sent_classes else None
        neg = sent_classes.index("negatif") if "negatif" in sent_classes else None
        for row, i in enumerate(pending):
            h = hits[i]
            for c, v in h.topics.items():
                scores[row, col[target[c]]] += LEXICON_WEIGHT * v
            if pos is not None:
                sent[row, pos] += 0.1 * h.positive
            if neg is not None:
                sent[row, neg] += 0.1 * h.negative
        best_cols = scores.argmax(axis=1)
        totals = scores.sum(axis=1)
        best_sent = sent.argmax(axis=1)
        words_x = None
        for row, i in enumerate(pending):
            r, h = results[i], hits[i]
            best = names[int(best_cols[row])]
            total = float(totals[row]) or 1.0
            r.topic, r.confidence = best, round(float(scores[row, best_cols[row]]) / total, 3)
            r.why = [w for code in h.topic_words if target.get(code, self._target(code)) == best
                     for w in h.topic_words[code]]
            if not r.why and best != FALLBACK and best in topic_classes:
                if words_x is None:
                    words_x = m.vectoriser.transformer_list[0][1].transform(docs)
                r.why = self._model_words(words_x, row, topic_classes.index(best))
            r.sentiment = sent_classes[int(best_sent[row])]
            r.urgent = bool(h.urgent >= 1.0 or p_urgent[row] >= URGENT_THRESHOLD)
            if r.urgent:
                r.why = r.why + [w for w in h.urgent_words if w not in r.why]
            if math.isnan(r.confidence):
                r.confidence = 0.0

    def _model_words(self, words_x: Any, row: int, cls: int) -> list[str]:
        m = self.model
        assert m is not None
        coef = m.topic.coef_[cls]
        n_words = len(m.word_features)
        start, end = words_x.indptr[row], words_x.indptr[row + 1]
        weighted = [(float(words_x.data[k]) * float(coef[words_x.indices[k]]), int(words_x.indices[k]))
                    for k in range(start, end) if words_x.indices[k] < n_words]
        weighted.sort(reverse=True)
        return [m.word_features[j] for w, j in weighted[:3] if w > 0]


# ----------------------------------------------------------------------------- the labelled set


def read_labelled(name: str) -> list[Example]:
    """``train``, ``test`` or ``fresh`` from data/labelled/ (TSV: text, topic, sentiment, urgent, place)."""
    path = LABELLED_DIR / f"{name}.tsv"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if not line:
            continue
        text, topic, sentiment, urgent, place = line.split("\t")
        out.append(Example(text.replace("\\n", "\n"), topic, sentiment, urgent == "1", place))
    return out


def evaluate(clf: Classifier, examples: Sequence[Example], region_codes: dict[int, str] | None = None) -> dict[str, Any]:
    """Precision, recall, F1 per topic, macro-F1, the confusion matrix, sentiment, urgency, place."""
    results = clf.classify_many([e.text for e in examples])
    labels = sorted({e.topic for e in examples} | {r.topic for r in results})
    confusion = {a: dict.fromkeys(labels, 0) for a in labels}
    for e, r in zip(examples, results, strict=True):
        confusion[e.topic][r.topic] += 1
    per_topic = {}
    f1s = []
    for t in labels:
        tp = confusion[t][t]
        fp = sum(confusion[a][t] for a in labels) - tp
        fn = sum(confusion[t].values()) - tp
        p = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * rc / (p + rc) if p + rc else 0.0
        support = tp + fn
        per_topic[t] = {"precision": round(p, 4), "recall": round(rc, 4), "f1": round(f1, 4), "support": support}
        if support:
            f1s.append(f1)
    sent_ok = sum(1 for e, r in zip(examples, results, strict=True) if e.sentiment == r.sentiment)
    u_tp = sum(1 for e, r in zip(examples, results, strict=True) if e.urgent and r.urgent)
    u_fp = sum(1 for e, r in zip(examples, results, strict=True) if not e.urgent and r.urgent)
    u_fn = sum(1 for e, r in zip(examples, results, strict=True) if e.urgent and not r.urgent)
    placed = [(e, r) for e, r in zip(examples, results, strict=True) if e.place]
    to_kec = sum(1 for e, r in placed if r.place and _same_kecamatan(e.place, r.place["code"]))
    exact = sum(1 for e, r in placed if r.place and r.place["code"] == e.place)
    unplaced = [(e, r) for e, r in zip(examples, results, strict=True) if not e.place]
    false_place = sum(1 for _e, r in unplaced if r.place)
    sent_labels = ["positif", "netral", "negatif"]
    sent_conf = {a: dict.fromkeys(sent_labels, 0) for a in sent_labels}
    for e, r in zip(examples, results, strict=True):
        if e.sentiment in sent_conf and r.sentiment in sent_conf[e.sentiment]:
            sent_conf[e.sentiment][r.sentiment] += 1
    return {
        "version": clf.version, "n": len(examples),
        "topics": per_topic, "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else 0.0,
        "accuracy": round(sum(confusion[t][t] for t in labels) / len(examples), 4) if examples else 0.0,
        "confusion": confusion,
        "sentiment": {"accuracy": round(sent_ok / len(examples), 4) if examples else 0.0, "confusion": sent_conf},
        "urgent": {"recall": round(u_tp / (u_tp + u_fn), 4) if u_tp + u_fn else 0.0,
                   "precision": round(u_tp / (u_tp + u_fp), 4) if u_tp + u_fp else 0.0,
                   "support": u_tp + u_fn},
        "place": {"kecamatan_accuracy": round(to_kec / len(placed), 4) if placed else 0.0,
                  "exact_accuracy": round(exact / len(placed), 4) if placed else 0.0,
                  "support": len(placed), "false_places": false_place, "without_place": len(unplaced)},
    }


def _same_kecamatan(truth: str, got: str) -> bool:
    """Right to the kecamatan: the same kecamatan code (8 chars), or the same kota when the truth
    itself is a kota."""
    if len(truth) <= 5:
        return got == truth
    return got[:8] == truth[:8] and len(got) >= 8
