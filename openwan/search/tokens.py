"""Text → index tokens, the same way for documents and queries, on every database.

Databases disagree about Chinese: SQLite's tokenizers and InnoDB's parser keep a run of Han
characters as one word, InnoDB drops tokens shorter than ``innodb_ft_min_token_size`` (3) and
its stop words, and MariaDB has no n-gram parser. So we tokenize here and hand each engine
plain ASCII words it cannot split, drop or fold differently:

- Han, kana and hangul runs become overlapping character bigrams (``新闻联播`` → 新闻 闻联 联播),
  so any two-character word matches inside a longer text; every character is also kept as a
  unigram (after the phrase stream) so one-character queries work.
- Other words are NFKC-normalised, case-folded, accent-stripped and Snowball-stemmed.
- Every token is encoded as ``[a-z0-9]{3,64}`` with a kind prefix that no stop word starts
  with: ``x`` word, ``q`` one-character word, ``v`` non-ASCII word (hex), ``y`` bigram,
  ``z`` unigram. The engines then only ever see opaque, case-free, ≥3-character words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

MAX_TOKEN = 64
MAX_QUERY_CLAUSES = 32

_STEMMER = snowballstemmer.stemmer("english")


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x3400 <= cp <= 0x4DBF or 0x4E00 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x2FA1F  # Han and its extensions
        or 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF  # kana
        or 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF  # hangul
    )


def _hex(ch: str) -> str:
    return f"{ord(ch):05x}"


def bigram(a: str, b: str) -> str:
    return "y" + _hex(a) + _hex(b)


def unigram(ch: str) -> str:
    return "z" + _hex(ch)


@lru_cache(maxsize=200_000)
def word_token(word: str, stem: bool = True) -> str:
    """Encode one folded word (letters and digits, no CJK)."""
    if stem and word.isalpha():
        word = _STEMMER.stemWord(word)
    if word.isascii():
        if len(word) == 1:
            return "q" + word + "q"
        return ("x" + word)[:MAX_TOKEN]
    return ("v" + word.encode("utf-8").hex())[:MAX_TOKEN]


def fold(text: str) -> str:
    """NFKC (full-width → ASCII), case-fold, strip accents."""
    text = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    if decomposed == text:
        return text
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


@dataclass
class Segment:
    """A contiguous piece of text: either one word or one CJK run."""

    cjk: bool
    text: str


def segments(text: str) -> list[Segment]:
    out: list[Segment] = []
    word: list[str] = []
    run: list[str] = []

    def flush_word() -> None:
        if word:
            out.append(Segment(False, "".join(word)))
            word.clear()

    def flush_run() -> None:
        if run:
            out.append(Segment(True, "".join(run)))
            run.clear()

    for ch in fold(text):
        if _is_cjk(ch):
            flush_word()
            run.append(ch)
        elif ch.isalnum():
            flush_run()
            word.append(ch)
        else:
            flush_word()
            flush_run()
    flush_word()
    flush_run()
    return out


def run_tokens(run: str) -> list[str]:
    """A CJK run as its phrase of bigrams (a single character stays a unigram)."""
    if len(run) == 1:
        return [unigram(run)]
    return [bigram(run[i], run[i + 1]) for i in range(len(run) - 1)]


def document_tokens(*texts: str) -> str:
    """The token text stored in the index for the given pieces of text."""
    stream: list[str] = []
    unigrams: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        for seg in segments(text):
            if seg.cjk:
                stream.extend(run_tokens(seg.text))
                if len(seg.text) > 1:
                    for ch in seg.text:
                        unigrams[unigram(ch)] = None
            else:
                stream.append(word_token(seg.text))
    # Unigrams go after the phrase stream so they never sit between two bigrams of a phrase.
    stream.extend(unigrams)
    return " ".join(stream)


@dataclass
class Clause:
    """One required part of a query: a phrase of tokens (a single token is a phrase of one)."""

    tokens: list[str]
    prefix: bool = False  # the last (only) token is a prefix


@dataclass
class Query:
    clauses: list[Clause] = field(default_factory=list)
    had_text: bool = False  # the caller typed something, even if nothing searchable

    @property
    def empty(self) -> bool:
        return not self.clauses


_QUOTED = re.compile(r'"([^"]*)"?')


def parse_query(text: str) -> Query:
    """Parse user input: words are ANDed; "quoted text" is a phrase; ``word*`` is a prefix.

    Nothing in the input is an operator for the database: AND, NOT, NEAR, parentheses and
    quotes the engines know are either our syntax above or plain text.
    """
    query = Query(had_text=bool(text.strip()))
    pos = 0
    pieces: list[tuple[bool, str]] = []
    for match in _QUOTED.finditer(text):
        pieces.append((False, text[pos:match.start()]))
        pieces.append((True, match.group(1)))
        pos = match.end()
    pieces.append((False, text[pos:]))
    for quoted, piece in pieces:
        if quoted:
            tokens: list[str] = []
            for seg in segments(piece):
                tokens.extend(run_tokens(seg.text) if seg.cjk else [word_token(seg.text)])
            if tokens:
                query.clauses.append(Clause(tokens))
            continue
        for raw in piece.split():
            query.clauses.extend(_word_clauses(raw))
    # Repeated clauses add nothing; too many make every engine slow.
    unique: dict[tuple, Clause] = {}
    for clause in query.clauses:
        unique.setdefault((tuple(clause.tokens), clause.prefix), clause)
    query.clauses = list(unique.values())[:MAX_QUERY_CLAUSES]
    return query


def _word_clauses(raw: str) -> list[Clause]:
    """Clauses of one whitespace-separated piece of a query."""
    star = raw.endswith("*")
    segs = segments(raw)
    clauses: list[Clause] = []
    words: list[str] = []  # words joined by punctuation ("evening_news", "e-mail"): a phrase
    for i, seg in enumerate(segs):
        if seg.cjk:
            if words:
                clauses.append(Clause(words))
                words = []
            # A typed CJK run is found where it occurs as written: a bigram phrase.
            clauses.append(Clause(run_tokens(seg.text)))
        elif star and i == len(segs) - 1 and len(seg.text) >= 2 and seg.text.isascii():
            if words:
                clauses.append(Clause(words))
                words = []
            clauses.append(Clause([word_token(seg.text, stem=False)], prefix=True))
        else:
            words.append(word_token(seg.text))
    if words:
        clauses.append(Clause(words))
    return clauses
