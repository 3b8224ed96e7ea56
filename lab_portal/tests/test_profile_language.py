"""Switching one's language: the profile's confirmation already speaks the new one."""

import lxml.html


def profile_fields(html: str) -> dict:
    """What a browser sends from the profile form as the page renders it."""
    form = lxml.html.fromstring(html).xpath("//main//form[@method='post']")[0]
    return {name: value or "" for name, value in form.fields.items()}


def test_profile_confirms_a_language_change_in_the_new_language(login, researcher):
    client = login(researcher)
    fields = profile_fields(client.get("/me/").text)

    to_korean = client.post("/me/", {**fields, "language": "ko"}, follow=True)
    to_english = client.post("/me/", {**fields, "language": "en"}, follow=True)

    assert "프로필을 저장했습니다." in to_korean.text
    assert "Your profile is saved." not in to_korean.text
    assert to_korean["Content-Language"] == "ko"
    assert "Your profile is saved." in to_english.text
    assert "프로필을 저장했습니다." not in to_english.text
    researcher.refresh_from_db()
    assert researcher.language == "en"
