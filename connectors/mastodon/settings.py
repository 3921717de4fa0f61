"""Constants of the Mastodon connector."""

SOURCE = "mastodon"
MAX_LIMIT = 40  # Mastodon caps timeline and search pages at 40
MAX_PARENT_LOOKUPS = 20  # per fetch: GET /api/v1/statuses/:id to learn a reply's parent uri
PARENT_CACHE_SIZE = 5000  # parent uris remembered in this process, per (instance, id)
USER_AGENT = "edumon (school social-media monitoring; +https://github.com/edu-ley/edumon)"
