"""Generate the team's labelled set of citizens' SMS (warta/insights/data/labelled/).

    .venv/bin/python scripts/insights_labelled_set.py

Every sentence here was written by the Warta team (CC0, see the data README). Messages are built
from templates per topic with slots for places (the region CSV shipped with the contacts app),
objects and times, then roughened the way SMS are written: abbreviations and slang, SHOUTING,
dropped spaces, one-letter typos, repeated letters, missing punctuation. ``train``/``test`` come
from one pool of templates (split by message, seeded); ``fresh`` comes from a SEPARATE set of
templates in another register (longer, more formal, or very terse) and other fillers, so it
measures generalisation to phrasing the model has not seen.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ROOT / "warta" / "contacts" / "data" / "dki-jakarta-regions.csv"
OUT = ROOT / "warta" / "insights" / "data" / "labelled"

# topic → list of (template, sentiment, urgent). {p} = a place phrase, {t} = a time phrase.
T: dict[str, list[tuple[str, str, bool]]] = {
    "banjir": [
        ("banjir lagi di {p}, air sudah masuk rumah warga", "negatif", False),
        ("air setinggi lutut di {p} sejak {t}, mohon pompa air dikirim", "negatif", False),
        ("got mampet di {p} jadi tiap hujan tergenang", "negatif", False),
        ("saluran air di {p} tersumbat sampah, genangan tidak surut", "negatif", False),
        ("tolong banjir di {p} sudah setinggi dada, ada lansia terjebak di rumah", "negatif", True),
        ("banjir sedada di {p} warga butuh evakuasi segera", "negatif", True),
        ("air terus naik di {p} sudah sepinggang, anak anak belum dievakuasi", "negatif", True),
        ("ada warga hanyut terbawa arus banjir di {p} tolong", "negatif", True),
        ("tanggul jebol di {p}, air deras masuk permukiman", "negatif", True),
        ("kapan drainase di {p} diperbaiki? tiap hujan deras pasti banjir", "negatif", False),
        ("pompa air di {p} tidak jalan, jalan tergenang", "negatif", False),
        ("rob masuk lagi ke {p} {t}", "negatif", False),
        ("selokan depan rumah di {p} meluap", "negatif", False),
    ],
    "sampah": [
        ("sampah menumpuk di {p} sudah seminggu belum diangkut", "negatif", False),
        ("truk sampah tidak datang ke {p} {t}, bau busuk", "negatif", False),
        ("tps di {p} penuh sampai ke jalan", "negatif", False),
        ("ada buang sampah liar di pinggir kali {p}", "negatif", False),
        ("mohon petugas kebersihan ke {p}, sampah berserakan", "negatif", False),
        ("sampah di {p} dibiarkan, banyak lalat dan tikus", "negatif", False),
        ("bak sampah di {p} rusak, sampah tercecer", "negatif", False),
        ("kapan sampah di {p} diangkut? sudah bau sekali", "negatif", False),
    ],
    "transportasi": [
        ("macet parah di {p} tiap pagi karena parkir liar", "negatif", False),
        ("bus transjakarta rute ke {p} lama sekali datangnya", "negatif", False),
        ("halte di {p} rusak dan gelap", "negatif", False),
        ("lampu merah di {p} mati, lalu lintas semrawut", "negatif", False),
        ("angkot ngetem sembarangan di {p} bikin macet", "negatif", False),
        ("mohon dishub atur lalu lintas di {p} {t}", "negatif", False),
        ("jadwal mikrotrans jaklingko ke {p} tidak jelas", "negatif", False),
        ("ojol parkir di bahu jalan {p} bikin kemacetan", "negatif", False),
    ],
    "jalan": [
        ("jalan di {p} berlubang besar, sudah ada motor jatuh", "negatif", False),
        ("aspal di {p} rusak parah sejak {t}", "negatif", False),
        ("trotoar di {p} rusak dan paving copot", "negatif", False),
        ("bekas galian kabel di {p} tidak ditutup lagi", "negatif", False),
        ("jembatan kecil di {p} retak, takut ambruk", "negatif", False),
        ("mohon perbaikan jalan di {p}, lubangnya dalam", "negatif", False),
        ("jalan ambles di {p} dekat sekolah", "negatif", False),
        ("jalan di {p} ambles dan ada motor terperosok, pengendaranya luka parah", "negatif", True),
    ],
    "kesehatan": [
        ("puskesmas di {p} antre lama sekali, dokter cuma satu", "negatif", False),
        ("banyak warga {p} kena demam berdarah, mohon fogging", "negatif", False),
        ("ada jentik nyamuk di mana mana di {p}, minta fogging", "negatif", False),
        ("bpjs saya ditolak di rumah sakit dekat {p}", "negatif", False),
        ("jadwal imunisasi posyandu di {p} kapan ya", "netral", False),
        ("obat di puskesmas {p} sering habis", "negatif", False),
        ("tetangga di {p} pingsan dan sesak napas, ambulans tidak datang datang", "negatif", True),
        ("ada anak kejang di {p} butuh ambulans segera", "negatif", True),
        ("banyak balita gizi buruk di {p}", "negatif", False),
    ],
    "pendidikan": [
        ("kjp anak saya belum cair padahal sudah {t}", "negatif", False),
        ("bagaimana cara daftar ppdb zonasi untuk sd di {p}", "netral", False),
        ("sekolah di {p} minta uang seragam mahal", "negatif", False),
        ("guru honorer di sekolah {p} belum digaji", "negatif", False),
        ("anak saya tidak lolos ppdb padahal rumah dekat sekolah di {p}", "negatif", False),
        ("kapan pencairan kjp plus bulan ini", "netral", False),
        ("atap kelas sd di {p} bocor, murid belajar kehujanan", "negatif", False),
    ],
    "adminduk": [
        ("ktp saya hilang, bagaimana cara urus ktp baru di {p}", "netral", False),
        ("sudah rekam e ktp dari {t} tapi belum jadi juga", "negatif", False),
        ("blanko ktp di kelurahan {p} habis terus", "negatif", False),
        ("mau buat akta kelahiran anak, syaratnya apa", "netral", False),
        ("kartu keluarga saya salah nama, mau ganti di dukcapil {p}", "netral", False),
        ("urus surat pindah domisili ke {p} ribet sekali", "negatif", False),
        ("nik saya tidak terdaftar di dukcapil", "negatif", False),
        ("cara bikin kia untuk anak di {p} gimana", "netral", False),
    ],
    "bansos": [
        ("kenapa saya tidak dapat bansos padahal terdaftar dtks", "negatif", False),
        ("bantuan sembako di {p} tidak merata", "negatif", False),
        ("kartu lansia jakarta ibu saya belum cair", "negatif", False),
        ("blt di {p} salah sasaran, yang mampu malah dapat", "negatif", False),
        ("bagaimana cara daftar pkh di {p}", "netral", False),
        ("bantuan beras belum dibagikan di {p} sejak {t}", "negatif", False),
        ("data penerima bantuan di {p} tidak diperbarui", "negatif", False),
    ],
    "keamanan": [
        ("banyak preman malak pedagang di {p}", "negatif", False),
        ("sering ada tawuran pelajar di {p} malam hari", "negatif", False),
        ("ada tawuran sekarang di {p}, ada yang kena sajam, tolong cepat", "negatif", True),
        ("motor warga dicuri di {p} {t}", "negatif", False),
        ("pkl memenuhi trotoar di {p}, satpol pp tolong tertibkan", "negatif", False),
        ("ada kebakaran rumah di {p}, api besar, tolong damkar", "negatif", True),
        ("terjadi kebakaran di {p} dan ada korban terjebak", "negatif", True),
        ("anak saya hilang di sekitar {p} sejak {t}, tolong bantu", "negatif", True),
        ("orang mabuk bikin ribut tiap malam di {p}", "negatif", False),
        ("balap liar tiap malam minggu di {p} sangat mengganggu", "negatif", False),
        ("ada begal di {p} barusan korban luka", "negatif", True),
    ],
    "lingkungan": [
        ("asap pabrik di {p} bikin sesak warga", "negatif", False),
        ("kali di {p} hitam dan bau limbah", "negatif", False),
        ("ada pembakaran sampah tiap sore di {p}, asapnya masuk rumah", "negatif", False),
        ("polusi udara di {p} parah sekali {t}", "negatif", False),
        ("pohon di taman {p} ditebang sembarangan", "negatif", False),
        ("pohon besar di {p} miring mau tumbang", "negatif", False),
        ("pohon tumbang menimpa pengendara motor di {p}, korban belum dievakuasi", "negatif", True),
        ("pohon tumbang menimpa rumah warga di {p}, ada yang terjepit", "negatif", True),
        ("bising proyek di {p} sampai tengah malam", "negatif", False),
    ],
    "air": [
        ("air pam di {p} mati sudah tiga hari", "negatif", False),
        ("air pdam keruh dan bau di {p}", "negatif", False),
        ("air tidak mengalir di {p} sejak {t}", "negatif", False),
        ("tagihan air saya naik tidak wajar", "negatif", False),
        ("pipa air bocor di depan {p}, air terbuang", "negatif", False),
        ("warga {p} kesulitan air bersih", "negatif", False),
        ("meteran air di rumah saya rusak, bagaimana cara lapor", "netral", False),
    ],
    "listrik": [
        ("lampu jalan di {p} mati semua, gelap dan rawan", "negatif", False),
        ("pju di {p} tidak menyala sejak {t}", "negatif", False),
        ("mati lampu terus di {p}, pln tolong dicek", "negatif", False),
        ("kabel listrik menjuntai rendah di {p}, bahaya", "negatif", False),
        ("kabel listrik putus di {p} ada anak kesetrum tolong", "negatif", True),
        ("tiang listrik di {p} miring hampir roboh menimpa rumah", "negatif", True),
        ("gardu listrik di {p} meledak, api keluar", "negatif", True),
        ("lampu taman di {p} rusak", "negatif", False),
    ],
    "pungli": [
        ("di kantor kelurahan {p} diminta uang untuk surat pengantar", "negatif", False),
        ("ada pungli parkir di {p} oleh oknum", "negatif", False),
        ("petugas di {p} minta uang pelicin supaya cepat", "negatif", False),
        ("pelayanan di kantor kecamatan {p} lambat dan petugas tidak ramah", "negatif", False),
        ("calo berkeliaran di kantor samsat dekat {p}", "negatif", False),
        ("saya dimintai biaya tambahan waktu urus izin di {p}", "negatif", False),
        ("antre lama di loket pelayanan {p}, petugas main hp", "negatif", False),
    ],
    "apresiasi": [
        ("terima kasih petugas sudah cepat angkut sampah di {p}", "positif", False),
        ("mantap pak, jalan di {p} sudah diperbaiki", "positif", False),
        ("terima kasih pemprov, banjir di {p} cepat surut", "positif", False),
        ("salut untuk petugas damkar yang sigap di {p}", "positif", False),
        ("pelayanan di kelurahan {p} sekarang cepat dan ramah, terima kasih", "positif", False),
        ("terimakasih laporan saya sudah ditanggapi", "positif", False),
        ("bagus sekali respon sms center ini", "positif", False),
        ("lampu jalan di {p} sudah menyala lagi, terima kasih banyak", "positif", False),
    ],
    "informasi": [
        ("mohon info jadwal car free day minggu ini", "netral", False),
        ("apakah ada vaksinasi gratis di {p}", "netral", False),
        ("jam buka kantor kelurahan {p} sampai jam berapa", "netral", False),
        ("bagaimana cara daftar pelatihan kerja di {p}", "netral", False),
        ("mau tanya nomor telepon kantor kecamatan {p}", "netral", False),
        ("info lowongan kerja pemprov dimana", "netral", False),
        ("apakah sms ini resmi dari pemprov dki", "netral", False),
        ("syarat izin keramaian untuk acara di {p} apa saja", "netral", False),
    ],
    "lainnya": [
        ("halo", "netral", False), ("selamat pagi", "netral", False), ("p", "netral", False), ("tes", "netral", False),
        ("ok", "netral", False), ("siapa ini", "netral", False), ("salah kirim maaf", "netral", False),
        ("assalamualaikum", "netral", False), ("gak jadi", "netral", False), ("ya", "netral", False),
        ("mama minta pulsa {n} ke nomor ini ya", "netral", False),
        ("selamat anda mendapat hadiah {n} juta dari undian, hubungi nomor ini", "netral", False),
        ("lagi dimana bro", "netral", False), ("besok jadi main bola jam {n}?", "netral", False),
        ("maaf salah sambung pak", "netral", False), ("nanti saya telepon balik", "netral", False),
        ("oke siap {n}", "netral", False), ("met malam semua", "netral", False),
        ("jangan lupa beli gas sama telur ya", "netral", False), ("kode verifikasi anda {n}", "netral", False),
        ("hahaha iya", "netral", False), ("udah nyampe rumah belum", "netral", False),
    ],
}

# The fresh set: other templates, other register. Never used for training.
F: dict[str, list[tuple[str, str, bool]]] = {
    "banjir": [("Yth bapak/ibu, wilayah kami {p} tergenang air kurang lebih 50 cm akibat saluran yang tidak berfungsi", "negatif", False),
               ("DARURAT!! air sudah seleher di {p}, kami naik ke atap, mohon kirim perahu karet", "negatif", True),
               ("bnjr lg {p}", "negatif", False)],
    "sampah": [("Mohon ditindaklanjuti, tumpukan sampah rumah tangga di {p} menimbulkan bau tidak sedap", "negatif", False),
               ("smph gak diangkut2 {p}", "negatif", False)],
    "transportasi": [("Kemacetan di {p} semakin parah karena kendaraan parkir di badan jalan", "negatif", False),
                     ("busway telat mulu arah {p}", "negatif", False)],
    "jalan": [("Dengan hormat, kondisi jalan di {p} banyak lubang yang membahayakan pengendara", "negatif", False),
              ("jln rusak parah {p} tolong diaspal", "negatif", False)],
    "kesehatan": [("Kami mohon fogging di {p} karena sudah tiga warga dirawat karena DBD", "negatif", False),
                  ("ibu sy kritis sesak napas di {p}, ambulans gk dtg2 TOLONG", "negatif", True)],
    "pendidikan": [("Mohon penjelasan mengenai jadwal pencairan dana KJP Plus tahap ini", "netral", False),
                   ("anak sy gk dpt sekolah negeri gara2 zonasi", "negatif", False)],
    "adminduk": [("Saya ingin menanyakan prosedur penggantian KTP elektronik yang rusak", "netral", False),
                 ("e-ktp sy blm jadi2 udh 3 bln", "negatif", False)],
    "bansos": [("Kami warga {p} belum menerima bantuan sosial yang dijanjikan", "negatif", False),
               ("bansos gk nyampe ke rt kami {p}", "negatif", False)],
    "keamanan": [("Kami resah dengan aksi pencurian kendaraan bermotor yang marak di {p}", "negatif", False),
                 ("KEBAKARAN di {p} api makin besar korban blm keluar TOLONG", "negatif", True)],
    "lingkungan": [("Pembuangan limbah oleh pabrik di {p} mencemari sungai dan meresahkan warga", "negatif", False),
                   ("pohon tumbang nimpa mobil di {p} ada org kejepit", "negatif", True)],
    "air": [("Sudah beberapa hari air PAM di {p} tidak mengalir, mohon segera ditangani", "negatif", False),
            ("air pam mampet lg {p}", "negatif", False)],
    "listrik": [("Penerangan jalan umum di {p} padam sehingga rawan tindak kejahatan", "negatif", False),
                ("kabel pln putus nyetrum org di {p}!!", "negatif", True)],
    "pungli": [("Saya ingin melaporkan adanya pungutan liar dalam pengurusan surat di {p}", "negatif", False),
               ("bayar 50rb biar cepet di kelurahan {p}, pungli nih", "negatif", False)],
    "apresiasi": [("Kami mengucapkan terima kasih atas respons cepat petugas di {p}", "positif", False),
                  ("mantul pelayanannya, makasih pak", "positif", False)],
    "informasi": [("Mohon informasi mengenai persyaratan pembuatan SKCK", "netral", False),
                  ("dmn tempat vaksin terdekat {p}", "netral", False)],
    "lainnya": [("Selamat siang bapak", "netral", False), ("cek", "netral", False), ("wkwkwk", "netral", False),
                ("Bu, nanti jemput adik jam {n} ya", "netral", False), ("PROMO! beli 1 gratis 1 kode {n}", "netral", False),
                ("sori td hp lowbat", "netral", False)],
}

TIMES = ["kemarin", "tadi pagi", "seminggu lalu", "dua hari lalu", "sejak subuh", "bulan lalu", "tadi malam",
         "sore ini", "hari senin", "sejak kemarin sore"]
SLANG = {"yang": "yg", "tidak": "gak", "sudah": "sdh", "belum": "blm", "jalan": "jln", "tolong": "tlg",
         "bisa": "bs", "banget": "bgt", "dengan": "dgn", "untuk": "utk", "karena": "krn", "saya": "sy",
         "sekali": "bgt", "kelurahan": "kel.", "kecamatan": "kec.", "rumah": "rmh", "depan": "dpn",
         "sampai": "sampe", "bagaimana": "gmn", "terima kasih": "makasih", "kapan": "kpn", "lagi": "lg"}
PLACE_ABBR = {"kampung": "kp", "pondok": "pd", "kebon": "kb", "tanjung": "tj", "pasar": "ps"}


def load_regions() -> tuple[list[dict[str, str]], dict[str, dict[str, str]]]:
    with REGIONS.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_code = {r["code"]: r for r in rows}
    return rows, by_code


def place_phrase(rng: random.Random, kel: dict[str, str], by_code: dict[str, dict[str, str]],
                 dup_names: set[str], kec_names: set[str]) -> tuple[str, str]:
    """(phrase, truth code) for a kelurahan, written the ways citizens write places."""
    kec = by_code[kel["parent_code"]]
    name, kname = kel["name"], kec["name"]
    low = name.lower()
    style = rng.random()
    if name.lower() in kec_names and name != kname:
        # A kelurahan named like another kecamatan: people say "kel. X" (else they mean the kecamatan).
        return (rng.choice(["kel. ", "kelurahan ", "Kel "]) + name + rng.choice(["", " kec " + kname]), kel["code"])
    if low in dup_names:
        return (f"{rng.choice(['kel. ', 'kelurahan ', ''])}{name} kec. {kname}", kel["code"])
    if style < 0.12:
        return (f"kecamatan {kname}" if rng.random() < 0.5 else f"kec. {kname}", kec["code"])
    if style < 0.2:
        return (kname, kec["code"]) if kname.lower() not in dup_names else (f"kec {kname}", kec["code"])
    text = name
    if rng.random() < 0.3:
        for full, ab in PLACE_ABBR.items():
            if text.lower().startswith(full + " "):
                text = ab + " " + text[len(full) + 1:]
    if rng.random() < 0.12 and len(text) > 7:
        i = rng.randrange(2, len(text) - 2)
        if text[i].isalpha():
            text = text[:i] + text[i + 1:]
    prefix = rng.choice(["kel. ", "kelurahan ", "", "", "daerah ", "kel "])
    suffix = rng.choice(["", "", f" kec. {kname}", f" {kname}", f", {kname}"]) if name != kname else ""
    return prefix + text + suffix, kel["code"]


def roughen(text: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        for full, ab in SLANG.items():
            if full in text and rng.random() < 0.6:
                text = text.replace(full, ab)
    if rng.random() < 0.1:
        words = text.split()
        if len(words) > 3:
            i = rng.randrange(len(words) - 1)
            words[i] = words[i] + words.pop(i + 1)  # a missing space
            text = " ".join(words)
    if rng.random() < 0.1:
        words = text.split()
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 5 and w.isalpha():
            j = rng.randrange(1, len(w) - 1)
            words[i] = w[:j] + w[j + 1:] if rng.random() < 0.5 else w[:j] + w[j] + w[j:]
            text = " ".join(words)
    if rng.random() < 0.08:
        text = text.replace("a", "aaa", 1)
    r = rng.random()
    if r < 0.15:
        text = text.upper()
    elif r < 0.45:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.3:
        text += rng.choice([".", "!!", "!", " ?", " pak", " mohon ditindak", " terima kasih", "..."])
    return text


def make(templates: dict[str, list[tuple[str, str, bool]]], n_per_topic: dict[str, int], seed: int,
         kels: list[dict[str, str]], by_code: dict[str, dict[str, str]], dup: set[str],
         kec_names: set[str]) -> list[tuple[str, str, str, str, str]]:
    rng = random.Random(seed)
    out = []
    for topic, tpls in templates.items():
        for _ in range(n_per_topic[topic]):
            tpl, sentiment, urgent = rng.choice(tpls)
            place = ""
            text = tpl
            if "{p}" in tpl:
                phrase, place = place_phrase(rng, rng.choice(kels), by_code, dup, kec_names)
                text = text.replace("{p}", phrase)
            text = text.replace("{t}", rng.choice(TIMES)).replace("{n}", str(rng.randrange(1, 500)))
            text = roughen(text, rng) if topic != "lainnya" else text
            out.append((text.replace("\t", " "), topic, sentiment, "1" if urgent else "0", place))
    rng.shuffle(out)
    return out


def write(path: Path, rows: list[tuple[str, str, str, str, str]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("text\ttopic\tsentiment\turgent\tplace\n")
        for r in rows:
            fh.write("\t".join(r) + "\n")


def main() -> None:
    rows, by_code = load_regions()
    kels = [r for r in rows if r["level"] == "kelurahan"]
    from collections import Counter

    names = Counter(r["name"].lower() for r in kels)
    dup = {n for n, c in names.items() if c > 1}
    kec_names = {r["name"].lower() for r in rows if r["level"] == "kecamatan"}
    per = {t: (100 if t != "lainnya" else 70) for t in T}
    for t in ("banjir", "keamanan", "listrik", "lingkungan"):
        per[t] = 150
    pool = make(T, per, 14, kels, by_code, dup, kec_names)
    # de-duplicate identical texts, then split 80/20
    seen: set[str] = set()
    unique = [r for r in pool if not (r[0] in seen or seen.add(r[0]))]  # type: ignore[func-returns-value]
    cut = int(len(unique) * 0.8)
    OUT.mkdir(parents=True, exist_ok=True)
    write(OUT / "train.tsv", unique[:cut])
    write(OUT / "test.tsv", unique[cut:])
    fresh = make(F, dict.fromkeys(F, 25), 2026, kels, by_code, dup, kec_names)
    write(OUT / "fresh.tsv", fresh)
    print(f"train {cut}, test {len(unique) - cut}, fresh {len(fresh)}")


if __name__ == "__main__":
    main()
