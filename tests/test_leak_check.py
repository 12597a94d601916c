"""The log leak check itself must be able to fail: it finds an ID in the clear and URL-encoded."""

from tests.conftest import leaks


def test_the_leak_check_finds_clear_and_encoded_ids(tmp_path):
    (tmp_path / "functions.log").write_text('{"fields":{"message":"deleted"}}\nGET /v1/apps/a/users/j%C3%BCrgen%2Bx%401\n')
    (tmp_path / "emulator.log").write_text("nothing here\nuser ola.nordmann@example.com done\n")
    found = leaks({"jürgen+x@1", "ola.nordmann@example.com", "never-logged-id"}, tmp_path)
    assert found == ["emulator.log:2: a seeded user ID (length 24)",
                     "functions.log:2: a seeded user ID (length 19)"]
    assert leaks({"abc"}, tmp_path) == []  # too short to check (documented)
