"""The tokenizer: every engine sees the same opaque, ≥3-character ASCII words."""

from __future__ import annotations

import re

from openwan.search.tokens import MAX_QUERY_CLAUSES, document_tokens, parse_query

TOKEN = re.compile(r"^[a-z0-9]{3,64}$")
# InnoDB's default stop words: none of our tokens may be one.
INNODB_STOPWORDS = set(str.split(
    "a about an are as at be by com de en for from how i in is it la of on "
    "or that the this to was what when where who will with und www"))


def test_tokens_are_safe_for_every_engine():
    text = ("城市夜景延时摄影 The Who WILL be at www.example.com — Café, naïve, ＡＢＣ 4K 第3集 "
            "한국어 ニュース a I")
    tokens = document_tokens(text).split()
    assert tokens and all(TOKEN.match(t) for t in tokens)
    assert not set(tokens) & INNODB_STOPWORDS


def test_chinese_bigrams_unigrams_and_phrases():
    doc = set(document_tokens("城市夜景延时摄影").split())
    for word in ("城市", "夜景", "景延", "摄影"):
        (clause,) = parse_query(word).clauses
        assert clause.tokens[0] in doc
    (clause,) = parse_query("夜").clauses
    assert clause.tokens[0] in doc  # single characters are kept as unigrams
    (clause,) = parse_query("城市夜景").clauses
    assert len(clause.tokens) == 3  # a typed run is the phrase of its bigrams


def test_english_folding_and_stemming():
    assert document_tokens("Documentaries") == document_tokens("documentary")
    assert document_tokens("CAFÉ") == document_tokens("cafe")
    assert document_tokens("ｎｅｗｓ") == document_tokens("news")


def test_query_syntax_is_ours_not_the_engines():
    query = parse_query('"evening news" photo* ") OR 1=1 -- NEAR( AND NOT')
    assert [len(c.tokens) for c in query.clauses][:2] == [2, 1]
    assert query.clauses[1].prefix
    assert all(TOKEN.match(t) for c in query.clauses for t in c.tokens)
    assert parse_query("* ( ) -- ;").empty and parse_query("* ( )").had_text
    assert len(parse_query(" ".join(f"w{i}" for i in range(200))).clauses) == MAX_QUERY_CLAUSES
