"""The review page's endpoints, one module per kind of page; `edumon.web.routes` lists them."""
