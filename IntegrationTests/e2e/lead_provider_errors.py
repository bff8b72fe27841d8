"""The Lead Provider API's error bodies, as the real service writes them: shared by its e2e files."""


def errors(*pairs):
    """`{"errors": [{"title", "detail"}, ...]}` from (title, detail) pairs."""
    return {"errors": [{"title": title, "detail": detail} for title, detail in pairs]}


UNAUTHORIZED = {"error": "HTTP Token: Access denied"}
NOT_FOUND = errors(("Resource not found", "Nothing could be found for the provided details"))
BAD_JSON = errors(("Bad request", "Correct json data structure required. See API docs for reference."))
