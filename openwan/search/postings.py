"""OpenWan's own inverted index for MySQL, MariaDB and PostgreSQL: ``search_postings``.

InnoDB's FULLTEXT and PostgreSQL's GIN read every posting of a token whatever the LIMIT (and
PostgreSQL's ts_rank then reads every matching document), so a common word costs seconds at a
million assets. Here each token's postings are a B-tree range in asset id order:
a query walks the sparsest token's range newest first, probes the other tokens by primary
key, applies the access rule and the filters on the asset row, and stops after the window.

- Every token of the search document gets one posting per asset, weighted by its count
  (a title occurrence counts ``TITLE_WEIGHT`` times), keyed by a 64-bit hash of its text.
- Word prefixes are tokens too (``p`` + the first 2 to ``PREFIX_CHARS`` letters of every
  word), so ``soci*`` walks a posting range; a longer prefix walks its first
  ``PREFIX_CHARS`` letters and is checked against the document text.
- Two words next to each other are a token too (``pair``), so a phrase of common words
  that rarely meet walks the pair's short range; phrases are then checked for adjacency on
  the document text of the candidates only.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from openwan.models import SearchPosting
from openwan.search.tokens import Query

TITLE_WEIGHT = 4
MAX_WEIGHT = 32767
PREFIX_CHARS = 3
# How far down a token's newest postings the sparsity probe looks (see ``sparsest_first``).
SAMPLE = 1000


@lru_cache(maxsize=500_000)
def key(token: str) -> int:
    """The stored key of a token: the first 8 bytes of its BLAKE2b hash, signed."""
    digest = hashlib.blake2b(token.encode("ascii"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_WORD_KINDS = frozenset("xqv")  # word tokens (``tokens.word_token``)


def pair(first: str, second: str) -> str:
    """The token of two word tokens next to each other."""
    return f"{first}+{second}"


def _with_prefixes(token: str) -> list[str]:
    if token[0] != "x":
        return [token]
    word = token[1:]
    return [token, *("p" + word[:n] for n in range(2, min(len(word), PREFIX_CHARS) + 1))]


def weights(title_tokens: str, body_tokens: str) -> dict[int, int]:
    """{key: weight} of every posting of one search document."""
    counts: dict[str, int] = {}
    for text, weight in ((title_tokens, TITLE_WEIGHT), (body_tokens, 1)):
        previous = ""
        for token in text.split():
            posted = _with_prefixes(token)
            if token[0] in _WORD_KINDS and previous[:1] in _WORD_KINDS:
                posted.append(pair(previous, token))
            for each in posted:
                counts[each] = counts.get(each, 0) + weight
            previous = token
    return {key(token): min(count, MAX_WEIGHT) for token, count in counts.items()}


@dataclass
class Terms:
    """What a query asks of the postings: tokens every match has, and text to check."""

    tokens: list[str] = field(default_factory=list)
    scored: set[str] = field(default_factory=set)  # tokens that count toward relevance
    patterns: list[str] = field(default_factory=list)  # LIKE patterns on " document text "
    phrases: list[list[str]] = field(default_factory=list)

    def companions(self, token: str) -> set[str]:
        """The tokens that share a phrase with ``token``."""
        return {t for phrase in self.phrases if token in phrase for t in phrase} - {token}

    @staticmethod
    def is_filter(token: str) -> bool:
        """A filter tag (``index.filter_tokens``): the SQL filters check it on the row too."""
        return token[0] == "k"


def terms(query: Query) -> Terms:
    out = Terms()

    def need(token: str, *, scored: bool = True) -> None:
        if token not in out.tokens:
            out.tokens.append(token)
        if scored and not Terms.is_filter(token):  # filter tags do not rank
            out.scored.add(token)

    for clause in query.clauses:
        if clause.prefix:
            letters = clause.tokens[0][1:]
            need("p" + letters[:PREFIX_CHARS])
            if len(letters) > PREFIX_CHARS:
                out.patterns.append(f"% x{letters}%")
        else:
            for token in clause.tokens:
                need(token)
            if len(clause.tokens) > 1:
                pairs = [pair(a, b) for a, b in itertools.pairwise(clause.tokens)
                         if a[0] in _WORD_KINDS and b[0] in _WORD_KINDS]
                for token in pairs:
                    need(token, scored=False)
                out.patterns.append("% " + " ".join(clause.tokens) + " %")
                out.phrases.append([*clause.tokens, *pairs])
    return out


def sparsest_first(session: Session, tokens: list[str]) -> list[str]:
    """``tokens`` ordered by how sparse their newest postings are.

    The id of a token's ``SAMPLE``-th newest posting tells its recent density from one short
    index range read: the older that id, the fewer assets carry the token. Fewer postings
    than that sorts first.
    """
    edges = session.execute(select(*(
        select(SearchPosting.asset_id).where(SearchPosting.token == key(token))
        .order_by(SearchPosting.asset_id.desc()).offset(SAMPLE).limit(1).scalar_subquery()
        for token in tokens))).one()
    order = sorted(range(len(tokens)), key=lambda i: (-1 if edges[i] is None else edges[i], i))
    return [tokens[i] for i in order]
