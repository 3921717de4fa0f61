"""Constants of the Bluesky connector."""

SOURCE = "bluesky"
SEARCH_NSID = "app.bsky.feed.searchPosts"
MAX_LIMIT = 100  # searchPosts refuses a larger `limit`
WEB_URL = "https://bsky.app"  # where a post's public URL points
SESSION_KEY = "bluesky:{base_url}:{handle}"
# XRPC error names that mean "this access token is no good any more": log in again.
TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthMissing", "AuthenticationRequired"})
