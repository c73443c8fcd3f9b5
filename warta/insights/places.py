"""Which kelurahan, kecamatan or kota a message mentions. No Django, no I/O: built from rows.

Theory of operation
-------------------
Region names are indexed as token sequences after the same light clean-up applied to the text
(lower case, ``kp``/``kb``/``pd``/``ps``/``tj``/``jl`` … expanded, "kelurahan"/"kecamatan"/"kota"
prefixes dropped). The text is scanned for the longest sequences of 1–4 tokens that name a
region, exactly or with one typo per name (a name of 6+ letters, compared without spaces, so
``kampungmelayu`` and ``kp.melayu`` and ``kampung melyu`` all find Kampung Melayu).

When several regions are named, the most specific consistent one wins: a kelurahan inside a
named kecamatan or kota beats both. A word that names both a kecamatan and a kelurahan
("Jatinegara", "Gambir") is read as the kecamatan unless written after "kel."/"kelurahan" or the
kelurahan lies inside that kecamatan. A kelurahan name held by two kecamatan ("Kebon Jeruk"?
no — but "Pinang Ranti"-like duplicates exist) is decided by the other names in the message,
else given up at kelurahan level. Words that are names but also ordinary words ("cempaka",
"duri", "kota") only count in a multi-word name or after a region prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

ABBREV = {
    "kp": "kampung", "kmp": "kampung", "kb": "kebon", "kbn": "kebon", "pd": "pondok", "pdk": "pondok",
    "ps": "pasar", "psr": "pasar", "tj": "tanjung", "tg": "tanjung", "tjg": "tanjung", "jl": "jalan",
    "jln": "jalan", "kel": "kelurahan", "kelurhan": "kelurahan", "kec": "kecamatan", "kcm": "kecamatan",
    "kecamatn": "kecamatan", "jkt": "jakarta", "pulo": "pulo", "pl": "pulau", "cp": "cempaka", "kby": "kebayoran",
    "mampang prpt": "mampang prapatan", "sel": "selatan", "ut": "utara", "bar": "barat", "tim": "timur",
    "pst": "pusat", "kramatjati": "kramat jati", "jakpus": "jakarta pusat", "jakut": "jakarta utara",
    "jakbar": "jakarta barat", "jaksel": "jakarta selatan", "jaktim": "jakarta timur", "kep": "kepulauan",
    "rw": "rw", "rt": "rt", "sln": "selatan", "ttr": "utara", "bt": "barat", "tmr": "timur",
}
PREFIX_WORDS = {"kelurahan": "kelurahan", "kecamatan": "kecamatan", "kota": "kota_kabupaten",
                "kabupaten": "kota_kabupaten", "desa": "kelurahan", "wilayah": ""}
# Name tokens that are also everyday words: alone they do not make a place.
COMMON = {"duri", "kota", "gambir", "senen", "cempaka", "utara", "selatan", "barat", "timur", "pusat", "baru",
          "tengah", "pasar", "pondok", "kebon", "kampung", "tanjung", "pulau", "jati", "bambu", "kali",
          "rawa", "cipinang", "manggarai", "tugu", "jembatan", "angke", "kelapa", "gading", "petamburan",
          "pinang", "pela", "sunter", "ancol", "harapan", "mulia", "mangga", "bali", "melati", "karet",
          "kemayoran", "bungur", "krukut", "makasar", "kramat", "galur", "semper", "marunda", "rorotan",
          "cilandak", "ragunan", "kuningan", "setia", "budi", "menteng", "tebet", "koja", "jakarta"}
_TOKEN = re.compile(r"[a-z]+|\d+")
# Function words never part of a region name: a span holding one is not looked up (speed).
STOP = {"di", "ke", "dari", "yang", "dan", "atau", "sudah", "belum", "tidak", "ada", "mohon", "tolong", "sangat",
        "saya", "kami", "warga", "sejak", "karena", "untuk", "dengan", "ini", "itu", "sdh", "yg", "gak", "ga",
        "bapak", "ibu", "pak", "bu", "lagi", "juga", "banget", "sekali", "hari", "jam", "rt", "rw", "no", "dekat",
        "depan", "belakang", "samping", "sebelah", "sekitar", "daerah", "wilayah", "the", "and", "of", "to"}
_GLUE = ("di", "ke", "dr", "dari", "dkt", "dekat", "daerah", "sekitar")


@dataclass(frozen=True, slots=True)
class Region:
    id: int
    code: str
    name: str
    level: str  # kota_kabupaten | kecamatan | kelurahan

    def contains(self, other: Region) -> bool:
        return other.code.startswith(self.code + ".")


@dataclass(frozen=True, slots=True)
class Place:
    region: Region
    words: str  # the words that named it, as written (cleaned)


def _clean(text: str) -> list[str]:
    out: list[str] = []
    for raw in _TOKEN.findall(text.lower()):
        out.extend(ABBREV.get(raw, raw).split())
    return out


def _strip_name(name: str) -> tuple[str, ...]:
    words = _clean(name)
    for prefix in ("kota administrasi", "kabupaten administrasi", "kota", "kabupaten", "kecamatan", "kelurahan"):
        p = prefix.split()
        if words[:len(p)] == p:
            words = words[len(p):]
            break
    return tuple(words)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


class PlaceMatcher:
    def __init__(self, regions: Iterable[tuple[int, str, str, str]]) -> None:
        """``regions``: (id, Kemendagri code, name, level) rows of the region tree."""
        self.regions: dict[int, Region] = {}
        self.by_name: dict[tuple[str, ...], list[Region]] = {}
        self.by_glued: dict[str, tuple[str, ...]] = {}
        self.fuzzy: dict[str, set[tuple[str, ...]]] = {}
        self.max_len = 1
        self._memo: dict[tuple[str, ...], tuple[str, ...] | None] = {}
        for pk, code, name, level in regions:
            if level not in ("kota_kabupaten", "kecamatan", "kelurahan"):
                continue
            r = Region(pk, code, name, level)
            self.regions[pk] = r
            key = _strip_name(name)
            if not key:
                continue
            self.by_name.setdefault(key, []).append(r)
            if level == "kota_kabupaten" and key[0] == "jakarta":
                self.by_name.setdefault(key[1:], []).append(r) if len(key) > 1 else None
        self.name_tokens: set[str] = set()
        self._near: set[str] = set()  # name tokens and glued names, and their one-letter deletions
        for key in list(self.by_name):
            self.max_len = max(self.max_len, len(key))
            glued = "".join(key)
            self.by_glued[glued] = key
            self.name_tokens.update(key)
            for piece in (*key, glued):
                if len(piece) >= 4:
                    self._near.update(_deletes(piece) | {piece})
            if len(glued) >= 6:
                for d in _deletes(glued) | {glued}:
                    self.fuzzy.setdefault(d, set()).add(key)
        self._tok_memo: dict[str, bool] = {}

    def _token_ok(self, tok: str) -> bool:
        """Could ``tok`` be (part of) a region name, exactly, with one typo or glued to "di"/"ke"?
        Spans of other words are never looked up: most words of a message are not places."""
        hit = self._tok_memo.get(tok)
        if hit is not None:
            return hit
        ok = tok in self.name_tokens or tok in self.by_glued
        if not ok and len(tok) >= 4 and tok not in STOP:
            ok = tok in self._near or any(d in self._near for d in _deletes(tok))
        if not ok and len(tok) > 4:
            ok = any(tok.startswith(g) and len(tok) - len(g) >= 3 and self._token_ok(tok[len(g):]) for g in _GLUE)
        if len(self._tok_memo) < 200_000:
            self._tok_memo[tok] = ok
        return ok

    def _lookup(self, words: tuple[str, ...]) -> tuple[str, ...] | None:
        hit = self._memo.get(words, ())
        if hit != ():
            return hit  # type: ignore[return-value]
        found = self._lookup_uncached(words)
        if len(self._memo) < 300_000:
            self._memo[words] = found
        return found

    def _lookup_uncached(self, words: tuple[str, ...]) -> tuple[str, ...] | None:
        if words in self.by_name:
            return words
        glued = "".join(words)
        if glued in self.by_glued:
            return self.by_glued[glued]
        if len(glued) >= 7:
            found = set()
            for d in _deletes(glued) | {glued}:
                for key in self.fuzzy.get(d, ()):
                    if abs(len("".join(key)) - len(glued)) <= 1:
                        found.add(key)
            if len(found) == 1:
                return found.pop()
        return None

    def candidates(self, text: str) -> list[tuple[tuple[str, ...], str, str]]:
        """(name key, level hinted by a prefix word or "", words as written) in text order."""
        words = _clean(text)
        ok = [self._token_ok(w) and not w.isdigit() for w in words]
        out = []
        i = 0
        while i < len(words):
            if not ok[i]:
                i += 1
                continue
            run = 1
            while run < self.max_len and i + run < len(words) and ok[i + run]:
                run += 1
            matched = False
            for n in range(run, 0, -1):
                span = tuple(words[i:i + n])
                if any(w in STOP or w.isdigit() for w in span):
                    continue
                first = span[0]
                variants = [span]
                if len(first) > 4:
                    for g in _GLUE:
                        if first.startswith(g) and len(first) - len(g) >= 3:
                            variants.append((first[len(g):], *span[1:]))
                for v in variants:
                    key = self._lookup(v)
                    if key is None:
                        continue
                    prev = words[i - 1] if i else ""
                    prefixed = prev in PREFIX_WORDS
                    if len(key) == 1 and key[0] in COMMON and not prefixed and n == 1 and v == span:
                        continue
                    if len(key) == 1 and n == 1 and len(key[0]) < 4:
                        continue
                    out.append((key, PREFIX_WORDS.get(prev, "") if prefixed else "", " ".join(span)))
                    i += n
                    matched = True
                    break
                if matched:
                    break
            if not matched:
                i += 1
        return out

    def match(self, text: str) -> Place | None:
        if not text:
            return None
        cands = self.candidates(text[:1000])
        if not cands:
            return None
        named: list[tuple[list[Region], str, str]] = []
        for key, hint, words in cands:
            regions = self.by_name[key]
            if hint:
                hinted = [r for r in regions if r.level == hint]
                regions = hinted or regions
            named.append((regions, hint, words))
        everything = [r for regions, _h, _w in named for r in regions]

        def support(r: Region) -> int:
            return sum(1 for o in everything if o.code != r.code and (o.contains(r) or r.contains(o)))

        best: tuple[int, int, int, Region, str] | None = None
        level_rank = {"kelurahan": 3, "kecamatan": 2, "kota_kabupaten": 1}
        for pos, (regions, hint, words) in enumerate(named):
            kel = [r for r in regions if r.level == "kelurahan"]
            kec = [r for r in regions if r.level == "kecamatan"]
            choice: list[Region]
            if hint == "kelurahan" and kel:
                choice = kel
            elif kec and kel and not hint:
                inside = [k for k in kel if any(c.contains(k) for c in kec)]
                choice = inside or kec
                if not inside and any(support(k) for k in kel):
                    choice = [k for k in kel if support(k)]
            else:
                choice = regions
            if len(choice) > 1:
                supported = [r for r in choice if support(r)]
                if len(supported) == 1:
                    choice = supported
                else:
                    # Ambiguous: keep what they share (a kecamatan both kelurahan lie in).
                    parents = {r.code.rsplit(".", 1)[0] for r in choice}
                    if len(parents) == 1:
                        parent = next((x for x in self.regions.values() if x.code == parents.pop()), None)
                        if parent is None:
                            continue
                        choice = [parent]
                    else:
                        continue
            r = choice[0]
            score = (support(r), level_rank[r.level], -pos)
            if best is None or score > best[:3]:
                best = (*score, r, words)
        if best is None:
            return None
        return Place(best[3], best[4])
