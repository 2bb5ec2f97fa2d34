"""The structured dossier a project holder files with a referral, its validation, and what changed between two versions.

Pure and deterministic: standard library only, no app and no database, so the form, the stored versions and the
committee's "what changed since you last looked" page all read the same sections and the same rules.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

# French typography puts a no-break space before ":" and inside long numbers; written as escapes, never as invisible characters.
_NBSP = "\u00a0"
_NNBSP = "\u202f"

MAX_LENGTH = 10_000
LANGS = ("en", "fr")

FieldKind = Literal["text", "choice"]
ChangeKind = Literal["added", "removed", "changed"]
DiffOp = Literal["same", "added", "removed"]


@dataclass(frozen=True)
class Field:
    """One section of the dossier: its key, its label and help text in every language, and what it accepts."""

    key: str
    label: dict[str, str]
    help: dict[str, str]
    kind: FieldKind
    required: bool
    choices: tuple[tuple[str, dict[str, str]], ...] = ()


@dataclass(frozen=True)
class Change:
    """A section whose text differs between two versions of a dossier, with its label in the reader's language."""

    key: str
    label: str
    before: str
    after: str
    kind: ChangeKind


FIELDS: tuple[Field, ...] = (
    Field(
        key="purpose",
        label={"en": "Purpose and public interest", "fr": "Finalité et intérêt public"},
        help={
            "en": "What the project is for, who benefits from it, and why it serves the public interest.",
            "fr": "À quoi sert le projet, à qui il profite et en quoi il sert l'intérêt public.",
        },
        kind="text",
        required=True,
    ),
    Field(
        key="data_used",
        label={"en": "Data used, sources and partners", "fr": "Données utilisées, sources et partenaires"},
        help={
            "en": "Which data the project uses, where they come from, how they are collected, and which partners provide or receive them.",
            "fr": "Quelles données le projet utilise, d'où elles viennent, comment elles sont collectées et quels partenaires les fournissent "
            "ou les reçoivent.",
        },
        kind="text",
        required=True,
    ),
    Field(
        key="personal_data",
        label={"en": "Personal or sensitive data and legal basis", "fr": "Données personnelles ou sensibles et base légale"},
        help={
            "en": "Whether personal or sensitive data are processed, which ones, and on what legal basis (consent, a task in the public "
            "interest, a legal obligation…).",
            "fr": "Indiquez si des données personnelles ou sensibles sont traitées, lesquelles, et sur quelle base légale (consentement, mission "
            "d'intérêt public, obligation légale…).",
        },
        kind="text",
        required=True,
    ),
    Field(
        key="minimisation",
        label={"en": "Minimisation and retention periods", "fr": "Minimisation et durées de conservation"},
        help={
            "en": "Why each kind of data is needed, what was deliberately left out, and how long each is kept before it is deleted.",
            "fr": "Pourquoi chaque type de donnée est nécessaire, ce qui a été volontairement écarté, et combien de temps chacun est "
            "conservé avant d'être supprimé.",
        },
        kind="text",
        required=False,
    ),
    Field(
        key="anonymisation",
        label={"en": "Anonymisation or pseudonymisation", "fr": "Anonymisation ou pseudonymisation"},
        help={
            "en": "Which method is used, at which stage it is applied, and for which use (open data, training, analysis).",
            "fr": "Quelle méthode est employée, à quelle étape elle s'applique et pour quel usage (données ouvertes, entraînement, analyse).",
        },
        kind="text",
        required=False,
    ),
    Field(
        key="rights",
        label={"en": "People's rights", "fr": "Droits des personnes"},
        help={
            "en": "How people are informed, how they can access, correct or erase their data, and who answers their requests.",
            "fr": "Comment les personnes sont informées, comment elles peuvent accéder à leurs données, les rectifier ou les effacer, "
            "et qui répond à leurs demandes.",
        },
        kind="text",
        required=True,
    ),
    Field(
        key="dpia",
        label={"en": "Data protection impact assessment (DPIA)", "fr": "Analyse d'impact relative à la protection des données (AIPD)"},
        help={
            "en": "Whether this processing needs a DPIA and, if it does, whether it has been carried out.",
            "fr": "Indiquez si ce traitement nécessite une AIPD et, le cas échéant, si elle a été réalisée.",
        },
        kind="choice",
        required=True,
        choices=(
            ("not_needed", {"en": "Not needed", "fr": "Non nécessaire"}),
            ("needed_not_done", {"en": "Needed, not done yet", "fr": "Nécessaire, pas encore réalisée"}),
            ("done", {"en": "Done", "fr": "Réalisée"}),
        ),
    ),
    Field(
        key="dpia_details",
        label={"en": "About the DPIA", "fr": "Précisions sur l'AIPD"},
        help={
            "en": "Why no DPIA is needed, when it will be carried out, or what it concluded.",
            "fr": "Pourquoi aucune AIPD n'est nécessaire, quand elle sera réalisée, ou ce qu'elle a conclu.",
        },
        kind="text",
        required=False,
    ),
    Field(
        key="fairness",
        label={"en": "Fairness and bias risks", "fr": "Équité et risques de biais"},
        help={
            "en": "Which groups could be treated unfairly, which biases were looked for in the data or the model, and how they are reduced.",
            "fr": "Quels groupes pourraient être traités de manière inéquitable, quels biais ont été recherchés dans les données ou le "
            "modèle, et comment ils sont réduits.",
        },
        kind="text",
        required=False,
    ),
    Field(
        key="human_oversight",
        label={"en": "Human oversight", "fr": "Contrôle humain"},
        help={
            "en": "Who checks what the system produces, who can override or stop it, and how a person can ask for a human to review a decision.",
            "fr": "Qui vérifie ce que produit le système, qui peut passer outre ou l'arrêter, et comment une personne peut demander "
            "qu'un humain réexamine une décision.",
        },
        kind="text",
        required=False,
    ),
    Field(
        key="environment",
        label={"en": "Environmental footprint", "fr": "Empreinte environnementale"},
        help={
            "en": "The energy, computing and hardware the project uses, and what is done to keep them frugal.",
            "fr": "L'énergie, le calcul et le matériel que le projet consomme, et ce qui est fait pour rester sobre.",
        },
        kind="text",
        required=False,
    ),
    Field(
        key="training",
        label={"en": "Training phase", "fr": "Phase d'entraînement"},
        help={
            "en": "The training phase alone: which data, on what legal basis, for how long and with which safeguards. It is assessed "
            "separately from use; if the project trains no model, say so.",
            "fr": f"La seule phase d'entraînement{_NBSP}: quelles données, sur quelle base légale, pendant combien de temps et avec "
            f"quelles garanties. Elle est évaluée séparément de l'utilisation{_NBSP}; si le projet n'entraîne aucun modèle, indiquez-le.",
        },
        kind="text",
        required=True,
    ),
    Field(
        key="inference",
        label={"en": "Use (inference) phase", "fr": "Phase d'utilisation (inférence)"},
        help={
            "en": "The use phase alone: what the system is used for, on which data, who sees its results and with which safeguards. "
            "It is assessed separately from training.",
            "fr": f"La seule phase d'utilisation{_NBSP}: à quoi sert le système, sur quelles données, qui voit ses résultats et avec "
            "quelles garanties. Elle est évaluée séparément de l'entraînement.",
        },
        kind="text",
        required=True,
    ),
)

_BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}

_MESSAGES: dict[str, dict[str, str]] = {
    "required": {"en": "This section is required.", "fr": "Cette rubrique est obligatoire."},
    "choice": {"en": "Choose one of the options offered.", "fr": "Choisissez l'une des options proposées."},
    "unknown": {"en": "This is not a section of the dossier.", "fr": "Cette rubrique ne fait pas partie du dossier."},
    "not_text": {"en": "This section must be text.", "fr": "Cette rubrique doit être du texte."},
    "too_long": {
        "en": "Keep this section to {max} characters or fewer (it has {n}).",
        "fr": "Limitez cette rubrique à {max} caractères (elle en compte {n}).",
    },
}


def _lang(lang: str) -> str:
    # Accept "fr_FR" or "fr-CA" from a locale negotiator; anything unknown reads English rather than failing.
    primary = (lang or "").replace("-", "_").split("_")[0].lower()
    return primary if primary in LANGS else "en"


def _number(n: int, lang: str) -> str:
    grouped = f"{n:,}"
    return grouped.replace(",", _NNBSP) if lang == "fr" else grouped


def _normalise(value: object) -> str:
    # Browsers send textarea line breaks as CRLF; storing them as LF keeps a resubmission from showing every line as changed.
    if value is None:
        return ""
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def validate(values: Mapping[str, object], lang: str = "en") -> dict[str, str]:
    """Errors by field key, in ``lang``: missing required sections, unknown choices and keys, non-text and over-long values."""
    lang = _lang(lang)
    errors: dict[str, str] = {}
    for key in sorted(k for k in values if k not in _BY_KEY):
        errors[key] = _MESSAGES["unknown"][lang]
    for f in FIELDS:
        raw = values.get(f.key)
        if raw is not None and not isinstance(raw, str):
            errors[f.key] = _MESSAGES["not_text"][lang]
            continue
        value = _normalise(raw)
        if not value:
            if f.required:
                errors[f.key] = _MESSAGES["required"][lang]
        elif f.kind == "choice":
            if value not in {code for code, _ in f.choices}:
                errors[f.key] = _MESSAGES["choice"][lang]
        elif len(value) > MAX_LENGTH:
            errors[f.key] = _MESSAGES["too_long"][lang].format(max=_number(MAX_LENGTH, lang), n=_number(len(value), lang))
    return errors


def clean(values: Mapping[str, object]) -> dict[str, str]:
    """The known sections of ``values`` as stripped text with LF line breaks, in dossier order; unknown keys dropped, absent ones not added."""
    return {f.key: _normalise(values[f.key]) for f in FIELDS if f.key in values}


def _display(f: Field, value: str, lang: str) -> str:
    # Reviewers read "Done", not "done"; a value no longer among the choices is shown as stored rather than hidden.
    if f.kind == "choice":
        for code, label in f.choices:
            if code == value:
                return label[lang]
    return value


def diff(old: Mapping[str, object] | None, new: Mapping[str, object], lang: str = "en") -> list[Change]:
    """The sections that differ from ``old`` to ``new``, in dossier order; with no ``old``, every filled section is added.

    Choice sections carry their option labels in ``lang`` as ``before`` and ``after``; unknown keys are ignored.
    """
    lang = _lang(lang)
    old = old or {}
    changes: list[Change] = []
    for f in FIELDS:
        before = _normalise(old.get(f.key))
        after = _normalise(new.get(f.key))
        if before == after:
            continue
        kind: ChangeKind = "added" if not before else "removed" if not after else "changed"
        changes.append(Change(f.key, f.label[lang], _display(f, before, lang), _display(f, after, lang), kind))
    return changes


@dataclass(frozen=True)
class Section:
    """A filled section of a dossier as its readers see it: its label and its text (a choice's label) in their language."""

    key: str
    label: str
    text: str


def sections(values: Mapping[str, object] | None, lang: str = "en") -> list[Section]:
    """The filled sections of ``values`` in dossier order, labelled in ``lang``; empty and unknown keys are left out."""
    lang = _lang(lang)
    out = []
    for f in FIELDS:
        value = _normalise((values or {}).get(f.key))
        if value:
            out.append(Section(f.key, f.label[lang], _display(f, value, lang)))
    return out


def _sort_key(name: str) -> tuple[str, str]:
    # Sort "École" with the Es and "aube" with "Aube", identically on every machine: no locale, just accents and case folded.
    base = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()
    return base, name


def diff_lists(old: Iterable[str], new: Iterable[str]) -> tuple[list[str], list[str]]:
    """``(added, removed)`` between two lists of names (partners, claimed charters), stripped, blanks dropped, each sorted."""
    before = {s.strip() for s in old if s and s.strip()}
    after = {s.strip() for s in new if s and s.strip()}
    return sorted(after - before, key=_sort_key), sorted(before - after, key=_sort_key)


# A token is a word with the whitespace before it, so joining tokens gives the text back exactly, and an appended
# sentence or an inserted word shows as just that, not as a change to the word before it. Spaces as tokens of their own
# would anchor meaningless one-space matches between unrelated sentences.
_TOKENS = re.compile(r"\s*\S+|\s+")

# SequenceMatcher's matching is quadratic per step and can take a step per token: "a a a …" against "a b a b …" runs
# for minutes at 10,000 characters. Its work is counted against this budget (a fraction of a second), and what is left
# unrefined when it runs out is shown as replaced: coarser, still exact, and the same result on every machine.
_WORK_BUDGET = 2_000_000


def text_diff(before: str, after: str) -> list[tuple[DiffOp, str]]:
    """A word-level diff for display: ``(op, text)`` pieces, op one of "same", "added", "removed", consecutive ops merged.

    Joining the "same" and "added" texts gives ``after``; joining "same" and "removed" gives ``before``.
    """
    a = _TOKENS.findall(before)
    b = _TOKENS.findall(after)
    pieces: list[tuple[DiffOp, str]] = []
    i = j = 0
    for block_a, block_b, size in _matching_blocks(a, b):
        if block_a > i:
            pieces.append(("removed", "".join(a[i:block_a])))
        if block_b > j:
            pieces.append(("added", "".join(b[j:block_b])))
        if size:
            same = "".join(a[block_a : block_a + size])
            # Two matches can touch (the head and the first match found after it): one piece, not two.
            if pieces and pieces[-1][0] == "same":
                pieces[-1] = ("same", pieces[-1][1] + same)
            else:
                pieces.append(("same", same))
        i, j = block_a + size, block_b + size
    return pieces


def _matching_blocks(a: list[str], b: list[str]) -> list[tuple[int, int, int]]:
    # Most resubmissions touch a few sentences: the untouched head and tail are matched for free.
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    # autojunk would ignore frequent words once a text passes 200 tokens, making long diffs much coarser.
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    in_b = Counter(b)
    blocks = [(0, 0, head), (len(a) - tail, len(b) - tail, tail)]
    # Breadth first, where difflib's own loop is depth first: when the budget runs out, the long matches are already found.
    queue = deque([(head, len(a) - tail, head, len(b) - tail)])
    spent = 0
    while queue:
        alo, ahi, blo, bhi = queue.popleft()
        if alo >= ahi or blo >= bhi:
            continue
        # An upper bound on find_longest_match's inner loop: every position in b of every token of a[alo:ahi].
        spent += (ahi - alo) + sum(in_b[t] for t in a[alo:ahi])
        if spent > _WORK_BUDGET:
            break
        i, j, size = matcher.find_longest_match(alo, ahi, blo, bhi)
        if size:
            blocks.append((i, j, size))
            queue.append((alo, i, blo, j))
            queue.append((i + size, ahi, j + size, bhi))
    return sorted(blocks)
