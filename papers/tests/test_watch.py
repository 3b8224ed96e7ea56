"""Watch rules as matchers: the query language, author names, categories and library scores."""

from types import SimpleNamespace

import pytest

from papers.watch import QueryError, author_anchors, compile_rules, match_papers, names_agree, parse_query

_ids = iter(range(1, 10_000))


def paper(title="", abstract="", authors=(), categories=("cs.LG",)):
    return SimpleNamespace(
        pk=next(_ids), title=title, abstract=abstract, authors=list(authors), categories=list(categories)
    )


def rule(query="", authors=(), categories=(), min_recommendation=None, person_id=1, team_id=None):
    return SimpleNamespace(
        pk=next(_ids), person_id=person_id, team_id=team_id, query=query, authors=list(authors),
        categories=list(categories), min_recommendation=min_recommendation,
    )  # fmt: skip


def matches(r, p, **kwargs) -> bool:
    return bool(match_papers([p], [r], **kwargs))


DIFFUSION = paper(
    "Video Diffusion Models for Long-Horizon Planning",
    "We train score-based diffusion models on robot videos. Self-supervised pretraining helps.",
    ["Jung-Woo Ha", "Jürgen Müller", "Ludwig van Beethoven"],
    ["cs.CV", "cs.RO"],
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("diffusion", True),
        ("Diffusion", True),
        ("diffusion model", True),  # AND when left out, and a plural finds the singular
        ("diffusion AND audio", False),
        ("diffusion OR audio", True),
        ("audio OR speech", False),
        ("diffusion NOT audio", True),
        ("diffusion AND NOT robot", False),
        ("diffusion -robot", False),
        ('"video diffusion"', True),
        ('"diffusion video"', False),  # a phrase keeps its order
        ('"score based diffusion"', True),  # a hyphen separates words on both sides
        ("self-supervised", True),
        ('"long horizon planning"', True),
        ("(audio OR video) AND planning", True),
        ("audio OR video AND planning", True),  # AND binds tighter than OR
        ("(audio OR speech) AND planning", False),
        ("NOT (audio OR speech)", True),
        ("NOT diffusion", False),
        ("planning robots", True),
    ],
)
def test_query_words_phrases_and_operators(query, expected):
    assert matches(rule(query), DIFFUSION) is expected


@pytest.mark.parametrize("query", ["a (b", "a OR", ")", "NOT", "diffusion AND (", "***"])
def test_parse_query_unreadable_raises_with_a_message(query):
    with pytest.raises(QueryError) as error:
        parse_query(query)

    assert str(error.value)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("(" * 400 + "a" + ")" * 400, "at most"),
        ("NOT " * 920 + "a", "at most"),
        ("diffusion " * 60, "characters"),
    ],
)
def test_parse_query_refuses_queries_that_could_exhaust_the_stack(query, says):
    with pytest.raises(QueryError, match=says):
        parse_query(query)


def test_preview_of_a_deeply_nested_query_is_a_form_error_not_a_crash(login, researcher):
    response = login(researcher).get("/papers/watch/preview/", {"query": "(" * 400 + "a" + ")" * 400})

    assert response.status_code == 200
    assert "at most" in response.text


def test_parse_query_empty_is_no_query():
    assert parse_query("   ") is None


@pytest.mark.parametrize(
    "written",
    ["Jung-Woo Ha", "J.-W. Ha", "Jungwoo Ha", "Ha, Jung-Woo", "Ha Jung-Woo", "J. W. Ha", "JW Ha", "Ha"],
)
def test_author_name_variants_match(written):
    assert names_agree(written, "Jung-Woo Ha")
    assert matches(rule(authors=[written]), DIFFUSION)


@pytest.mark.parametrize("written", ["Jung-Hoon Ha", "J.-H. Ha", "K. Ha", "Jung-Woo Kim", "Woo Ha"])
def test_author_other_people_do_not_match(written):
    assert not names_agree(written, "Jung-Woo Ha")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Jurgen Muller", "Jürgen Müller"),
        ("J. Müller", "Jürgen Muller"),
        ("Müller, Jürgen", "Jurgen Muller"),
        ("Ludwig van Beethoven", "L. van Beethoven"),
        ("Chloé Dubois-Martin", "Chloe Dubois Martin"),
        ("Łukasz Øster", "Lukasz Oster"),
    ],
)
def test_author_accents_hyphens_and_particles_fold(a, b):
    assert names_agree(a, b)


def test_author_anchors_are_surnames_whole_and_in_pieces():
    assert author_anchors("Jung-Woo Ha") == {"ha", "jungwoo", "woo"}
    assert author_anchors("J.-W. Ha") == {"ha"}
    assert author_anchors("Ludwig van Beethoven") == {"vanbeethoven", "ludwig", "beethoven"}


def test_rule_criteria_must_all_hold():
    both = rule("diffusion", authors=["J.-W. Ha"], categories=["cs.RO"])
    wrong_category = rule("diffusion", authors=["J.-W. Ha"], categories=["cs.CL"])
    wrong_author = rule("diffusion", authors=["A. Turing"], categories=["cs.RO"])

    assert matches(both, DIFFUSION)
    assert not matches(wrong_category, DIFFUSION)
    assert not matches(wrong_author, DIFFUSION)


def test_categories_match_any_listed_and_whole_archives():
    assert matches(rule(categories=["cs.CL", "cs.RO"]), DIFFUSION)
    assert matches(rule(categories=["cs"]), DIFFUSION)
    assert not matches(rule(categories=["stat.ML"]), DIFFUSION)
    assert not matches(rule(categories=["stat"]), DIFFUSION)


def test_like_my_library_uses_scores_and_treats_missing_as_no_match():
    liked = rule(min_recommendation=0.7, person_id=5)

    assert matches(liked, DIFFUSION, scores={(5, DIFFUSION.pk): 0.9})
    assert not matches(liked, DIFFUSION, scores={(5, DIFFUSION.pk): 0.5})
    assert not matches(liked, DIFFUSION, scores={(6, DIFFUSION.pk): 0.9})
    assert not matches(liked, DIFFUSION)


def test_team_rule_library_score_counts_any_member():
    team_rule = rule(min_recommendation=0.5, person_id=None, team_id=3)

    found = match_papers([DIFFUSION], [team_rule], scores={(8, DIFFUSION.pk): 0.6}, members={3: [7, 8]})

    assert [reason for _r, _p, reason in found] == ["like your library (score 0.60)"]


def test_reason_names_the_terms_authors_and_categories_that_matched():
    r = rule(
        '(audio OR "video diffusion") AND planning NOT speech', authors=["Ha, J.-W."], categories=["cs.RO"]
    )

    [(_rule, _paper, reason)] = match_papers([DIFFUSION], [r])

    assert reason == 'keywords: "video diffusion", planning; author: Jung-Woo Ha; category: cs.RO'


def test_rule_set_tests_each_paper_against_candidate_rules_only():
    rules = [
        rule("diffusion"),
        rule(authors=["J. Müller"]),
        rule("transformer"),
        rule(categories=["math.AG"]),
    ]
    rule_set = compile_rules(rules)
    other = paper("Sparse transformers", "Attention is enough.", ["Ada Lovelace"], ["cs.CL"])

    found = rule_set.match([DIFFUSION, other])

    assert [(r.pk, p.pk) for r, p, _reason in found] == [
        (rules[0].pk, DIFFUSION.pk),
        (rules[1].pk, DIFFUSION.pk),
        (rules[2].pk, other.pk),
    ]


def test_rule_with_an_unreadable_query_is_left_out_not_fatal():
    assert match_papers([DIFFUSION], [rule("(diffusion"), rule("diffusion")])[0][0].query == "diffusion"
