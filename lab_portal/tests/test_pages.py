"""Every page needs a logged-in person, and each shows what it promises."""

import re

import pytest

from lab_portal.models import Team, User

PAGES = [
    "/",
    "/me/",
    "/people/",
    "/people/minji/",
    "/teams/vision/",
    "/papers/",
    "/seminars/",
    "/reviews/",
    "/accounts/password_change/",
]


@pytest.mark.parametrize("url", PAGES)
def test_page_sends_anonymous_visitors_to_log_in(client, researcher, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("url", PAGES)
def test_page_opens_for_a_researcher(login, researcher, url):
    response = login(researcher).get(url)

    assert response.status_code == 200
    assert 'href="/papers/"' in response.text
    assert "Minji Kim" in response.text


def test_dashboard_shows_three_panels_with_honest_empty_states(login, researcher):
    response = login(researcher).get("/")

    assert "Today for Minji Kim" in response.text
    for panel in ["Papers for me today", "Talks this week", "Reviews I owe"]:
        assert panel in response.text
    assert "You owe no reviews." in response.text


def test_pages_load_htmx_from_the_portal_and_send_csrf_with_it(login, researcher):
    response = login(researcher).get("/")

    scripts = re.findall(r'<script[^>]+src="([^"]+)"', response.text)
    assert scripts and all(src.startswith("/static/") for src in scripts)
    assert any("htmx" in src for src in scripts)
    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"\w+\"\}'>", response.text)
    assert "https://" not in "".join(re.findall(r"<(?:script|link)[^>]*>", response.text))


def test_profile_saves_time_zone_language_and_arxiv_names(login, researcher, team):
    client = login(researcher)

    response = client.post(
        "/me/",
        {
            "display_name": "Minji Kim",
            "email": "minji@lab.example.org",
            "team": team.pk,
            "timezone": "America/Los_Angeles",
            "language": "en",
            "arxiv_names": "Minji Kim\n  M. Kim \n\nMinji Kim\n",
            "research_interests": "diffusion models",
        },
        follow=True,
    )

    researcher.refresh_from_db()
    assert researcher.timezone == "America/Los_Angeles"
    assert researcher.arxiv_names == ["Minji Kim", "M. Kim"]
    assert "Your profile is saved." in response.text
    assert "Times are shown in America/Los_Angeles." in response.text


def test_profile_rejects_an_unknown_time_zone_and_keeps_the_old_one(login, researcher):
    response = login(researcher).post(
        "/me/", {"display_name": "M", "timezone": "Mars/Base", "language": "en"}
    )

    researcher.refresh_from_db()
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert researcher.timezone == "Asia/Seoul"
    assert researcher.display_name == "Minji Kim"


def test_profile_escapes_what_people_write(login, researcher, other_researcher):
    researcher.display_name = "<script>alert(1)</script>"
    researcher.research_interests = '<img src=x onerror="alert(2)">'
    researcher.save()

    response = login(other_researcher).get("/people/minji/")

    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<img src=x" not in response.text


def test_viewer_time_zone_is_active_on_every_page(login, researcher):
    researcher.timezone = "Europe/London"
    researcher.save()

    response = login(researcher).get("/papers/")

    assert "Times are shown in Europe/London." in response.text


def test_person_page_of_someone_unknown_or_inactive_is_404(login, researcher, other_researcher):
    other_researcher.is_active = False
    other_researcher.save()
    client = login(researcher)

    assert client.get("/people/nobody/").status_code == 404
    assert client.get("/people/taeho/").status_code == 404
    assert client.get("/teams/no-such-team/").status_code == 404


def test_people_page_lists_teams_with_their_members(login, researcher, lead, other_researcher):
    response = login(researcher).get("/people/")

    assert "Vision" in response.text
    assert "Jiwoo Park" in response.text
    assert "Not in a team" in response.text
    assert "Taeho Yoon" in response.text


def test_people_page_query_count_does_not_grow_with_the_lab(login, researcher, django_assert_num_queries):
    client = login(researcher)
    client.get("/people/")  # warm the session
    with django_assert_num_queries(5) as small:
        client.get("/people/")
    for i in range(30):
        team = Team.objects.create(name=f"Team {i}", slug=f"team-{i}")
        User.objects.create_user(username=f"p{i}", team=team)

    with django_assert_num_queries(len(small.captured_queries)):
        client.get("/people/")


def test_admin_site_is_for_admins_only(login, researcher, lead, portal_admin, client):
    assert login(researcher).get("/admin/").status_code == 302
    assert login(lead).get("/admin/").status_code == 302

    response = login(portal_admin).get("/admin/lab_portal/user/")

    assert response.status_code == 200
    assert "Minji Kim" in response.text or "minji" in response.text


def test_admin_giving_the_admin_role_opens_the_admin_site(login, portal_admin, researcher):
    client = login(portal_admin)
    change = client.get(f"/admin/lab_portal/user/{researcher.pk}/change/")
    data = {
        k: v for k, v in change.context["adminform"].form.initial.items() if v is not None and k != "password"
    }
    data.update(
        role="admin",
        date_joined_0="2026-01-01",
        date_joined_1="00:00:00",
        groups=[],
        user_permissions=[],
        arxiv_names="[]",
        team=researcher.team_id,
        **{"sso_identities-TOTAL_FORMS": "0", "sso_identities-INITIAL_FORMS": "0"},
    )

    client.post(f"/admin/lab_portal/user/{researcher.pk}/change/", data)

    researcher.refresh_from_db()
    assert researcher.role == "admin"
    assert researcher.is_staff and researcher.is_superuser


def test_korean_speakers_see_the_portal_in_korean(login, researcher):
    researcher.language = "ko"
    researcher.save()

    response = login(researcher).get("/")

    assert '<html lang="ko">' in response.text
    assert "논문" in response.text
    assert response["Content-Language"] == "ko"


def test_login_page_follows_the_browser_language(client, db):
    response = client.get("/accounts/login/", headers={"accept-language": "ko"})

    assert '<html lang="ko">' in response.text


def test_dashboard_lists_todays_papers_that_match_the_person(login, researcher):
    from papers.tests.factories import make_paper

    researcher.research_interests = "gaussian splatting, video"
    researcher.arxiv_names = ["Minji Kim"]
    researcher.save()
    make_paper(title="Fast Gaussian Splatting", authors=["Someone"])
    make_paper(title="Her own paper", authors=["Minji Kim", "Other"])
    make_paper(title="Unrelated work", abstract="Nothing to see.")

    response = login(researcher).get("/")

    assert "Fast Gaussian Splatting" in response.text
    assert "Her own paper" in response.text
    assert "Unrelated work" not in response.text


def test_dashboard_asks_for_interests_when_the_profile_has_none(login, researcher):
    from papers.tests.factories import make_paper

    make_paper(title="Anything")

    response = login(researcher).get("/")

    assert "Add your research interests" in response.text
