"""The Litestar application: pages for brands, the JSON API, factory links, webhooks and the CLI's server."""
