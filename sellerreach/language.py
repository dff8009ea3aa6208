"""Which language a text is written in: the buyer's language for the inbox, the check that a template speaks its
locale for the compliance linter. Deterministic and dependency-free; the stop words are data at the top."""

from __future__ import annotations

import re
from collections import Counter

# Frequent function words plus the words of Amazon's own relay mail. The sets share no word, so every hit is
# evidence for exactly one language (words common to two languages, like "de", "la", "que", "con", are left out).
_STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and is are were to of my you your this that for with have has had not but please would could should "
        "when where what which did does yet still been will from thank thanks hello hi dear received arrived "
        "inquiry customer order item package parcel they there their can it we our all any just regards".split()
    ),
    "de": frozenset(
        "der die das und ist nicht ich mein meine meinen meiner mich mir sie wir ein eine einen einem mit auf für "
        "noch habe hat haben bitte danke wurde wann wo warum aber auch bei von zu den dem leider schon sehr ihre "
        "ihr ihnen hallo vielen dank bestellung bestellt kunde kunden anfrage artikel paket nur wie kann können "
        "keine kein sind war geliefert bereits heute immer erhalten zurück rücksendung freundlichen grüßen".split()
    ),
    "fr": frozenset(
        "les et est je vous votre vos mon pas une du pour avec dans sur ne qui ce cette mais bonjour merci "
        "commande colis reçu toujours encore été ai suis elle nous au aux demande client renseignements très "
        "bien cordialement livraison article depuis jours aucune arrivé abîmé cassé remboursement retour".split()
    ),
    "es": frozenset(
        "el los las es mis por para muy pero gracias hola está todavía aún he sido recibido cuando dónde donde "
        "cómo qué usted su sus este esta pedido llegado ya saludos quiero puedo tengo hace días producto "
        "devolución reembolso paquete caja roto nada buenos buenas tardes porque consulta".split()
    ),
    "it": frozenset(
        "di che non sono è mio mia miei ordine per ho ancora grazie buongiorno salve pacco ricevuto arrivato "
        "quando dove richiesta dal nel alla questo questa gli della delle stato stata ciao cordiali saluti "
        "vorrei restituire rimborso prodotto giorni perché arrivo".split()
    ),
}
_LANGUAGE_OF_WORD = {word: language for language, words in _STOP_WORDS.items() for word in words}
_WORD = re.compile(r"[^\W\d_]+")
_KANA = re.compile("[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_LETTER = re.compile("[^\\W\\d_\u0250-\U0010ffff]")  # letters of Basic Latin to Latin Extended-B
_MIN_CJK_CHARACTERS = 2
_MIN_STOP_WORD_HITS = 2
_WINNER_MARGIN = 2.0  # the winner needs this many times the runner-up's hits


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of `text` (en de fr es it ja zh), or None when there is too little text or no clear winner.

    Deterministic: text that is mostly CJK is Japanese when it has kana, Chinese when it is Han only; otherwise
    stop words of en, de, fr, es and it are counted and one language must have twice the hits of any other.
    """
    kana, han, latin_letters = (len(pattern.findall(text)) for pattern in (_KANA, _HAN, _LATIN_LETTER))
    cjk = kana + han
    # A CJK character carries about as much as a short Latin word: compare them at roughly 1 to 3 letters.
    if cjk >= _MIN_CJK_CHARACTERS and cjk * 3 >= latin_letters:
        # A stray kana (say a Chinese shop name with "の") does not make Chinese text Japanese.
        return "ja" if kana >= 2 and kana * 10 >= cjk else "zh"
    hits = Counter(
        _LANGUAGE_OF_WORD[word] for word in _WORD.findall(text.casefold()) if word in _LANGUAGE_OF_WORD
    )
    ranked = hits.most_common(2)
    if not ranked or ranked[0][1] < _MIN_STOP_WORD_HITS:
        return None
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    return ranked[0][0] if ranked[0][1] >= _WINNER_MARGIN * runner_up else None
