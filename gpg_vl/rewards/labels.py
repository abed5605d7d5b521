"""Classification labels: strict, but not blind to how models say a label.

`label_match(pred, gold)` in "strict" mode is true when the answer names the gold label
(or one of its synonyms) and nothing else: `sunflower`, `Sunflower.`, `a sunflower`,
`sunflowers`, `The flower is a sunflower.`, `This is an Abyssinian cat.`, and the gold's
words in another order (`2012 Audi S4 Sedan` for `Audi S4 Sedan 2012`). It is false
for a fragment of the gold (`primrose` for `pink primrose`), a longer different label
(`Irish setter` for `setter`: an extra word that is not filler; a maker before a model,
`Boeing 737-200` for `737-200`, is filler), two labels
(`sunflower or daisy`, `sunflower, rose`), negations (`not a sunflower`) and empty answers.

How: both sides become word tokens (lower case, `_` as space, a plural `s`/`es`/`ies`
folded to the singular); the gold's token sequence must occur in the answer, and every
other token must be filler (articles, "this is", "the flower is", class nouns such as
flower / bird / dog / aircraft / car, "species", "breed", "image" ...). Connectors and
negations ("or", "and", "not", "vs") refuse the answer whatever else it says. No label
set is needed, so this works for any dataset; synonym lists remain optional.

"contains" mode (either text contains the other, the Visual-RFT reference) is kept on
request: it rewards "A or B or C" for every label in it, which is why it is not default.
"""

from __future__ import annotations

import re
import string

from .guard import MAX_ANSWER_CHARS

MAX_LABEL_WORDS = 40
"""An answer of more words than this is an explanation, not a label."""

_LABEL_DROP = re.compile(r"[\s_]+")
_WORD = re.compile(r"[a-z0-9]+(?:['’.\-+&][a-z0-9]+)*")
_REFUSE = set("or and nor not no neither either vs versus isn't aren't except without nothing "
              "unknown unsure cannot can't".split())
_FILLER_WORDS = set("""a an the this that these those it its it's is are was be being looks look like
seems seem appears appear to of in on at from here there which what i i'd think believe would say
call called named known as my final answer label class category type kind sort variety species
breed model make version family genus image picture photo photograph shown shows show depicted
depicts pictured displayed displays visible identified identify identification most likely
probably clearly definitely specifically particular flower plant bird dog cat pet animal aircraft
airplane plane airliner jet car vehicle automobile object item thing one shape color colour side""".split())
_LIKE = re.compile(r"-like\b|\blike\s+(?:a|an)?\s*\w+\s+but\b", re.IGNORECASE)
"""'sunflower-like': resembling the label is not being it."""
_SEPARATORS = re.compile(r"[,;/|]|\s&\s")


def normalize_label(label: str) -> str:
    """Lower-case, drop whitespace and underscores, strip surrounding punctuation.

    'Boeing_737-200 ' -> 'boeing737-200'; '(Red).' -> 'red'.
    """
    return _LABEL_DROP.sub("", str(label).lower()).strip(string.punctuation)


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_FILLER = {_singular(w) for w in _FILLER_WORDS}  # compared with singular tokens
_MAKERS = {_singular(w) for w in """boeing airbus mcdonnell douglas bombardier embraer cessna beechcraft
dassault fokker lockheed gulfstream saab tupolev ilyushin antonov atr havilland canadair piper
yakovlev eurofighter panavia acura audi bmw bentley buick cadillac chevrolet chrysler dodge ferrari
fiat ford gmc honda hyundai infiniti jaguar jeep kia lamborghini land rover lexus lincoln maserati
mazda mercedes-benz mercedes mini mitsubishi nissan porsche rolls-royce suzuki tesla toyota
volkswagen volvo""".split()}
"""Makers named before a model (`Boeing 737-200` for `737-200`): filler only when the gold
names no maker itself, so `BMW S4 Sedan 2012` never passes for `Audi S4 Sedan 2012`."""


_WORD_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")
"""`pink-primrose` is `pink primrose`; a hyphen with digits (`737-200`) stays in the token."""


def _tokens(text: str) -> list[str]:
    text = _WORD_HYPHEN.sub(" ", text.lower().replace("_", " "))
    return [_singular(w) for w in _WORD.findall(text)]


def _occurs(gold: list[str], words: list[str]) -> list[int] | None:
    """Indices of `words` not covered by occurrences of `gold` (None: it never occurs)."""
    n, covered, k = len(gold), set(), 0
    while k + n <= len(words):
        if words[k:k + n] == gold:
            covered.update(range(k, k + n))
            k += n
        else:
            k += 1
    return [i for i in range(len(words)) if i not in covered] if covered else None


def _names_only(pred: str, gold: str) -> bool:
    """Whether `pred` names `gold` and otherwise says only filler (module docstring)."""
    if normalize_label(pred) == normalize_label(gold):
        return True
    gold_words, words = _tokens(gold), _tokens(pred)
    if not gold_words or len(words) > MAX_LABEL_WORDS or _SEPARATORS.search(pred.strip(" .!")):
        return False
    if any(w in _REFUSE for w in words) or _LIKE.search(pred):
        return False
    rest = _occurs(gold_words, words)
    makers = set() if _MAKERS & set(gold_words) else _MAKERS
    if rest is not None and all(words[i] in _FILLER or words[i] in makers for i in rest):
        return True
    # the same words in another order: "2012 Audi S4 Sedan" for "Audi S4 Sedan 2012"
    content = sorted(w for w in gold_words if w not in _FILLER)
    return bool(content) and content == sorted(w for w in words if w not in _FILLER)


def _golds(gold: str, synonyms: dict[str, list[str]] | None) -> list[str]:
    golds = [gold]
    for key, alts in (synonyms or {}).items():
        if normalize_label(key) == normalize_label(gold):
            golds.extend(str(a) for a in alts)
    return golds


def label_match(pred: str, gold: str, mode: str = "strict",
                synonyms: dict[str, list[str]] | None = None) -> bool:
    """Whether a predicted label names the gold label (or one of its synonyms) and no other.

    strict: see the module docstring. contains: either contains the other, as the
    Visual-RFT reference does; exploitable, so only on request.
    """
    if not isinstance(pred, str) or not normalize_label(pred):
        return False
    pred = pred[-MAX_ANSWER_CHARS:]
    golds = _golds(str(gold), synonyms)
    if mode == "contains":
        p = normalize_label(pred)
        return any(g and (g in p or p in g) for g in map(normalize_label, golds))
    return any(_names_only(pred, g) for g in golds if normalize_label(g))
