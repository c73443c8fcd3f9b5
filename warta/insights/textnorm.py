"""SMS Indonesian → plain tokens: the first step of every classification. No Django, no I/O.

Theory of operation
-------------------
Citizens write ``TLG JLN DPN RMH SY BANJIR SDH SEDADA!!!``, ``gak ada yg dtg bgt``,
``sampahnya numpuk dijalan``, ``bnjr``. One pass turns that into tokens a lexicon and a model can
share:

1. lower case (SHOUTING is not a different word), letters and digits only, a digit run split
   from letters (``rt05`` → ``rt 05``), ``rumah2`` → ``rumah rumah`` (reduplication);
2. letters repeated three times or more squeezed (``tolooong`` → ``tolong``);
3. slang and abbreviations from a table (``yg`` → ``yang``, ``gak``/``ga``/``nggak``/``tdk`` →
   ``tidak``, ``jln`` → ``jalan``, ``kel.`` → ``kelurahan`` …), which analysts extend in the
   lexicon (kind "slang");
4. for words the vocabulary does not know: a missing space (``dijalan`` → ``di jalan``,
   ``sampahnumpuk`` → ``sampah numpuk``) when both halves are known, else one typo (a deleted,
   added, swapped or changed letter, found with a symmetric-delete index as in SymSpell) towards
   the most frequent known word. Short words (< 5 letters) are never "corrected": too many
   near neighbours.

The vocabulary is the lexicon's words, the slang table's targets, the region names and the
training set's words with their frequencies, so the normaliser is built together with the
classifier (``classifier.Classifier``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

SLANG: dict[str, str] = {
    "yg": "yang", "yng": "yang", "gak": "tidak", "ga": "tidak", "gk": "tidak", "nggak": "tidak", "ngga": "tidak",
    "engga": "tidak", "enggak": "tidak", "ndak": "tidak", "tdk": "tidak", "tak": "tidak", "g": "tidak",
    "kagak": "tidak", "bgt": "banget", "bngt": "banget", "jln": "jalan", "jl": "jalan", "jalann": "jalan",
    "kel": "kelurahan", "kelur": "kelurahan", "kec": "kecamatan", "kcmtn": "kecamatan", "sdh": "sudah",
    "udh": "sudah", "udah": "sudah", "dah": "sudah", "sudh": "sudah", "blm": "belum", "blom": "belum",
    "belom": "belum", "bs": "bisa", "bsa": "bisa", "tlg": "tolong", "tolongin": "tolong", "tlong": "tolong",
    "dg": "dengan", "dgn": "dengan", "utk": "untuk", "untk": "untuk", "buat": "untuk", "krn": "karena",
    "krna": "karena", "karna": "karena", "sy": "saya", "sya": "saya", "aku": "saya", "gw": "saya", "gue": "saya",
    "gua": "saya", "ane": "saya", "sampe": "sampai", "smp": "sampai", "jg": "juga", "lg": "lagi", "lgi": "lagi",
    "dr": "dari", "dri": "dari", "tp": "tapi", "tpi": "tapi", "trs": "terus", "trus": "terus", "org": "orang",
    "orng": "orang", "bnyk": "banyak", "byk": "banyak", "skrg": "sekarang", "skr": "sekarang", "skrang": "sekarang",
    "hr": "hari", "hri": "hari", "mhn": "mohon", "mohn": "mohon", "bpk": "bapak", "msh": "masih", "masi": "masih",
    "kpn": "kapan", "gmn": "bagaimana", "gimana": "bagaimana", "bgmn": "bagaimana", "gmana": "bagaimana",
    "knp": "kenapa", "napa": "kenapa", "emg": "memang", "emang": "memang", "sm": "sama", "ama": "sama",
    "klo": "kalau", "kalo": "kalau", "kl": "kalau", "jd": "jadi", "jdi": "jadi", "aja": "saja", "aj": "saja",
    "sj": "saja", "tsb": "tersebut", "dlm": "dalam", "spt": "seperti", "kyk": "kayak", "sdg": "sedang",
    "lbh": "lebih", "bkn": "bukan", "hrs": "harus", "mo": "mau", "pengen": "ingin", "pgn": "ingin",
    "thx": "terima kasih", "makasih": "terima kasih", "mksh": "terima kasih", "mkasih": "terima kasih",
    "trims": "terima kasih", "tq": "terima kasih", "trimakasih": "terima kasih", "terimakasih": "terima kasih",
    "trmksh": "terima kasih", "kmrn": "kemarin", "kmren": "kemarin", "kemaren": "kemarin", "bsk": "besok",
    "td": "tadi", "tdi": "tadi", "sblm": "sebelum", "stlh": "setelah", "mlm": "malam", "jkt": "jakarta",
    "jakpus": "jakarta pusat", "jakut": "jakarta utara", "jakbar": "jakarta barat", "jaksel": "jakarta selatan",
    "jaktim": "jakarta timur", "kp": "kampung", "kmp": "kampung", "rmh": "rumah", "rmah": "rumah", "dpn": "depan",
    "dpan": "depan", "blkg": "belakang", "bnjr": "banjir", "banjr": "banjir", "bjir": "banjir", "smph": "sampah",
    "sampa": "sampah", "lstrik": "listrik", "lstrk": "listrik", "ktp": "ktp", "kk": "kk", "pkm": "puskesmas",
    "rs": "rumah sakit", "pmda": "pemda", "ortu": "orang tua", "anak2": "anak anak", "bener": "benar",
    "bnr": "benar", "kerjaan": "pekerjaan", "mulu": "melulu", "bgs": "bagus", "mantul": "mantap",
    "mkn": "makin", "dtg": "datang", "dteng": "datang", "tgl": "tanggal", "jam2": "jam", "brp": "berapa",
    "brapa": "berapa", "dmn": "dimana", "dmana": "dimana", "kmn": "kemana", "info2": "info", "pd": "pada",
    "ngangkut": "angkut", "numpuk": "menumpuk", "nyampah": "sampah", "gelep": "gelap", "bau2": "bau",
    "pdhl": "padahal", "pdhal": "padahal", "sgr": "segera", "sgra": "segera", "cpt": "cepat", "cpet": "cepat",
    "lama2": "lama", "parah2": "parah", "bnyak": "banyak", "tinggal": "tinggal", "tggl": "tinggal",
    "wrga": "warga", "wrg": "warga", "pmrnth": "pemerintah", "pemprov": "pemprov", "ptgs": "petugas",
    "ptugas": "petugas", "sklh": "sekolah", "sekola": "sekolah", "antri": "antre", "ngantri": "antre",
    "mati2": "mati", "nimpa": "menimpa", "kejepit": "terjepit", "kejepet": "terjepit", "nyetrum": "kesetrum",
    "kesetrom": "kesetrum", "kebakar": "terbakar", "kelelep": "tenggelam", "airnya": "air", "sdah": "sudah", "dtangani": "ditangani", "dtanggapi": "ditanggapi",
}

_TOKEN = re.compile(r"[a-z]+|\d+")
_REPEAT = re.compile(r"([a-z])\1{2,}")
_REDUP = re.compile(r"([a-z]{2,})2\b")


def tokens(text: str) -> list[str]:
    """Lower-cased letter and digit runs, reduplication and repeated letters squeezed."""
    low = text.lower()
    if "2" in low:
        low = _REDUP.sub(r"\1 \1", low)
    low = _REPEAT.sub(r"\1", low)
    return _TOKEN.findall(low)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


class Normaliser:
    """Turns a message into normalised tokens; build once, call many times (thread-safe)."""

    def __init__(self, vocabulary: Mapping[str, int], slang: Mapping[str, str] | None = None) -> None:
        self.slang = dict(SLANG)
        if slang:
            self.slang.update(slang)
        self.vocab: dict[str, int] = {w: n for w, n in vocabulary.items() if w.isalpha()}
        for target in self.slang.values():
            for w in target.split():
                self.vocab.setdefault(w, 1)
        self._index: dict[str, list[str]] = {}
        for w in self.vocab:
            if len(w) >= 4:
                for d in _deletes(w) | {w}:
                    self._index.setdefault(d, []).append(w)
        self._cache: dict[str, tuple[str, ...]] = {}

    def known(self, word: str) -> bool:
        return word in self.vocab or word in self.slang

    def _typo(self, word: str) -> str | None:
        best, best_n = None, 0
        for key in _deletes(word) | {word}:
            for cand in self._index.get(key, ()):
                if abs(len(cand) - len(word)) <= 1 and cand != word:
                    n = self.vocab.get(cand, 0)
                    if n > best_n or (n == best_n and best is not None and cand < best):
                        best, best_n = cand, n
        return best

    def _split(self, word: str) -> tuple[str, str] | None:
        best: tuple[str, str] | None = None
        best_score = 0
        for i in range(2, len(word) - 1):
            a, b = word[:i], word[i:]
            if self.known(a) and self.known(b):
                score = min(self.vocab.get(self.slang.get(a, a).split()[0], 1), self.vocab.get(self.slang.get(b, b).split()[0], 1))
                if len(a) >= 3 or a in ("di", "ke", "ga", "yg", "dr", "sy"):
                    if score > best_score:
                        best, best_score = (a, b), score
        return best

    def word(self, raw: str) -> tuple[str, ...]:
        """One raw token → its normalised token(s)."""
        hit = self._cache.get(raw)
        if hit is not None:
            return hit
        if raw.isdigit():
            out: tuple[str, ...] = (raw,)
        elif raw in self.slang:
            out = tuple(self.slang[raw].split())
        elif raw in self.vocab or len(raw) < 4:
            out = (raw,)
        else:
            split = self._split(raw) if len(raw) >= 5 else None
            if split is not None:
                out = tuple(w for part in split for w in self.slang.get(part, part).split())
            elif len(raw) >= 5 and len(raw) <= 20 and (fixed := self._typo(raw)) is not None:
                out = (fixed,)
            else:
                out = (raw,)
        if len(self._cache) < 200_000:
            self._cache[raw] = out
        return out

    def __call__(self, text: str) -> list[str]:
        out: list[str] = []
        for raw in tokens(text):
            out.extend(self.word(raw))
        return out


def vocabulary(texts: Iterable[str], extra: Iterable[str] = ()) -> dict[str, int]:
    """Word frequencies of ``texts`` (raw tokens, slang expanded), plus ``extra`` words once."""
    counts: dict[str, int] = {}
    for text in texts:
        for raw in tokens(text):
            for w in SLANG.get(raw, raw).split():
                counts[w] = counts.get(w, 0) + 1
    for phrase in extra:
        for w in phrase.split():
            counts[w] = counts.get(w, 0) + 1
    return counts
