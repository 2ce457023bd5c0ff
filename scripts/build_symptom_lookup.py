"""Write the triage vocabulary's symptom phrases as a Rasa regex feature.

The symptom vocabulary of ``symptom_rules/`` (findings and their lay and clinical terms, in
its own small pattern language) is the team's list of ways patients say they have a
symptom. Rasa cannot import ``symptom_rules`` (it needs spaCy, which Rasa's environment does
not have), and the terms expand to ~86,000 plain phrases, far too many for a lookup table.
So this script translates each term into a regular expression, once, at build time, and
writes them as one Rasa ``regex`` feature named ``symptom_phrase``:

    .venv/bin/python -m scripts.build_symptom_lookup          # rewrite the file
    .venv/bin/python -m scripts.build_symptom_lookup --check  # exit 1 if it is stale

The generated file (``bot/data/nlu/lookups/symptoms.yml``) is committed, so training needs
only Rasa; ``tests/nlu/test_symptom_lookup.py`` fails when it no longer matches the
vocabulary. Rasa's RegexFeaturizer gives DIET a feature for the tokens the pattern covers,
and ``bot/nlu/symptom_vocabulary.py`` uses the same pattern to decide the intent when a
current symptom is named and no clinic task is asked for.

Translation: words are matched case-insensitively with the spelling table's misspellings as
alternatives (``vomitting`` for ``vomiting``) and an optional apostrophe; ``(a|b)``
becomes an alternation, ``?`` an optional group, ``...`` up to four words. Words may be
run together (``tummyache``). A match may not start where one of the vocabulary's
``ignore`` phrases starts ("pain in the neck", "sick of", "blood test").
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from symptom_rules.terms import GAP_MAX, Gap, Group, Sequence, Word, parse_term
from symptom_rules.vocabulary import Vocabulary, load_vocabulary

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = ROOT / "symptom_rules" / "data" / "vocabulary"
OUTPUT = ROOT / "bot" / "data" / "nlu" / "lookups" / "symptoms.yml"
FEATURE = "symptom_phrase"
# Every vocabulary file names symptoms except these two: core.yaml holds qualifiers (severe,
# sudden) and risk states (pregnant, on blood thinners), reassurance.yaml "breathing fine";
# the two core findings below are symptoms all the same. Risk factors and exposures ("a long
# flight", "travelled abroad") are not symptoms either, and share words with other domains.
NOT_SYMPTOM_FILES = ("core.yaml", "reassurance.yaml")
CORE_SYMPTOMS = ("unwell", "very_unwell")
NOT_SYMPTOMS = ("tetanus_risk", "malaria_travel", "vte_risk")
SEP = r"[\s,]*"
WORD_CHARS = r"[\w'’-]+"


def _word(text: str, misspellings: dict[str, list[str]]) -> str:
    forms = [text, *misspellings.get(text, [])]
    rendered = []
    for form in forms:
        escaped = re.escape(form)
        # An apostrophe may be typed as ’ or left out: can't, can’t, cant.
        rendered.append(escaped.replace("'", "['’]?").replace("’", "['’]?"))
    return rendered[0] if len(rendered) == 1 else "(?:" + "|".join(rendered) + ")"


def _sequence(items: Sequence, misspellings: dict[str, list[str]]) -> str:
    parts = []
    for item in items:
        if isinstance(item, Word):
            body = _word(item.text, misspellings)
        elif isinstance(item, Gap):
            parts.append(rf"(?:[\s,]+{WORD_CHARS}){{0,{GAP_MAX}}}")
            continue
        else:
            assert isinstance(item, Group)
            alternatives = sorted({_sequence(alt, misspellings) for alt in item.alternatives})
            body = "(?:" + "|".join(alternatives) + ")"
        part = f"{SEP}{body}"
        parts.append(f"(?:{part})?" if item.optional else part)
    return "".join(parts)


def term_regex(term: str, misspellings: dict[str, list[str]]) -> str:
    """One vocabulary term as a regular expression (no anchors)."""
    return _sequence(parse_term(term), misspellings).removeprefix(SEP)


def symptom_terms(vocab: Vocabulary) -> list[str]:
    """Every term of the findings that are symptoms, in a stable order, without repeats."""
    terms: set[str] = set()
    for finding in vocab.findings.values():
        if finding.id in NOT_SYMPTOMS:
            continue
        in_file = finding.path is not None and finding.path.name not in NOT_SYMPTOM_FILES
        if in_file or finding.id in CORE_SYMPTOMS:
            terms.update(term.lower() for term in finding.terms)
    return sorted(terms)


def build_pattern(vocab: Vocabulary) -> str:
    """The whole vocabulary as one case-insensitive pattern (Rasa adds IGNORECASE)."""
    misspellings: dict[str, list[str]] = {}
    for wrong, right in sorted(vocab.spelling.items()):
        if re.fullmatch(r"[\w']+", wrong) and re.fullmatch(r"[\w']+", right):
            misspellings.setdefault(right, []).append(wrong)
    terms = sorted({term_regex(term, misspellings) for term in symptom_terms(vocab)})
    ignore = sorted({term_regex(term, misspellings) for term in vocab.ignore})
    not_ignored = r"(?!(?:" + "|".join(ignore) + r")\b)" if ignore else ""
    return r"\b" + not_ignored + "(?:" + "|".join(terms) + r")\b"


def render(pattern: str) -> str:
    header = (
        'version: "3.1"\n'
        "# GENERATED by scripts/build_symptom_lookup.py from symptom_rules/data/vocabulary:\n"
        "# do not edit. One regular expression for every symptom term of the triage\n"
        "# vocabulary; RegexFeaturizer turns it into a feature, and SymptomVocabulary\n"
        "# (bot/nlu/symptom_vocabulary.py) reads it to find a current symptom.\n"
        "nlu:\n"
        f"  - regex: {FEATURE}\n"
        "    examples: |\n"
    )
    return header + f"      - {pattern}\n"


def expected_text() -> str:
    return render(build_pattern(load_vocabulary(VOCABULARY)))


def main(argv: list[str]) -> int:
    text = expected_text()
    if "--check" in argv:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(
                f"{OUTPUT.relative_to(ROOT)} is stale: run python -m scripts.build_symptom_lookup"
            )
            return 1
        print(f"{OUTPUT.relative_to(ROOT)} is up to date")
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(text):,} characters)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
